// The topic-filter tree (MQTT 3.1.1 / 5.0 section 4.7): which subscriptions a topic name reaches.
//
// Filters without wildcards are a Map keyed by the whole filter: a topic finds them with one
// lookup, however many there are (the design point is 100,000 devices each subscribed to its own
// command topic, which then cost a Map entry each, not a chain of tree nodes). Filters with `+` or
// `#` live in a tree with one node per level, as Mosquitto's subs.c keeps them; matching walks
// the topic's levels and at each node looks up three children: the level itself, `+` and `#`.
// Either way the cost is set by the topic's depth and by the wildcard branches that really exist,
// never by the number of unrelated filters.
//
// Pure and generic: the subscriber is whatever the caller uses to tell subscribers apart (compared
// by identity, as a Map key). No I/O, no timers.
import { FilterEntries, type SubscriptionMatch, type SubscriptionOptions } from './subscription-entries.js';

export type { SubscriptionMatch, SubscriptionOptions } from './subscription-entries.js';

const SINGLE_LEVEL = '+';
const MULTI_LEVEL = '#';
const DOLLAR = 0x24;

class WildcardNode<S> {
  /** Children by literal level; `+` and `#` are kept apart so matching never looks them up by name. */
  children: Map<string, WildcardNode<S>> | undefined;
  plus: WildcardNode<S> | undefined;
  hash: WildcardNode<S> | undefined;
  /** The subscriptions whose filter ends at this node. */
  entries: FilterEntries<S> | undefined;

  constructor(
    readonly parent: WildcardNode<S> | undefined,
    readonly level: string,
  ) {}

  child(level: string): WildcardNode<S> | undefined {
    if (level === SINGLE_LEVEL) return this.plus;
    if (level === MULTI_LEVEL) return this.hash;
    return this.children?.get(level);
  }

  addChild(level: string): WildcardNode<S> {
    const node = new WildcardNode<S>(this, level);
    if (level === SINGLE_LEVEL) this.plus = node;
    else if (level === MULTI_LEVEL) this.hash = node;
    else (this.children ??= new Map()).set(level, node);
    return node;
  }

  removeChild(node: WildcardNode<S>): void {
    if (this.plus === node) this.plus = undefined;
    else if (this.hash === node) this.hash = undefined;
    else if (this.children?.delete(node.level) === true && this.children.size === 0) this.children = undefined;
  }

  get empty(): boolean {
    return this.entries === undefined && this.children === undefined && this.plus === undefined && this.hash === undefined;
  }
}

/** In a valid filter `+` and `#` only ever stand as whole levels, so a character test is enough. */
function hasWildcard(filter: string): boolean {
  return filter.includes(SINGLE_LEVEL) || filter.includes(MULTI_LEVEL);
}

/**
 * Topic filters and their subscribers. Filters are expected valid (checked by parseTopicFilter
 * before they get here) and unshared: a `$share/{group}/{filter}` subscription is added as
 * `filter` with `options.shareGroup` set. One subscriber may hold the same filter once unshared
 * and once per share group; those are distinct subscriptions [MQTT-4.8.2].
 */
export class SubscriptionTree<S> {
  /** Filters without wildcards, by filter: matched by the topic name itself. */
  private readonly exact = new Map<string, FilterEntries<S>>();
  private readonly root = new WildcardNode<S>(undefined, '');
  /** Wildcard filter -> its node, for add and remove without a walk, and for filters(). */
  private readonly wildcardNodes = new Map<string, WildcardNode<S>>();
  private entryCount = 0;

  /** Number of subscriptions held (filter, subscriber, share group). */
  get size(): number {
    return this.entryCount;
  }

  /**
   * Adds a subscription, or replaces the options of the one with the same filter, subscriber and
   * share group [MQTT-3.8.4-3]. Returns true when it was new.
   */
  add(filter: string, subscriber: S, options: SubscriptionOptions): boolean {
    let entries: FilterEntries<S> | undefined;
    if (hasWildcard(filter)) {
      const node = this.wildcardNodes.get(filter) ?? this.createPath(filter);
      entries = node.entries ??= new FilterEntries<S>();
    } else {
      entries = this.exact.get(filter);
      if (entries === undefined) this.exact.set(filter, (entries = new FilterEntries<S>()));
    }
    const added = entries.add({ subscriber, filter, options });
    if (added) this.entryCount++;
    return added;
  }

  /**
   * Removes the subscriber's subscription to `filter` (the unshared one, or with `shareGroup` the
   * one in that share group). Returns true when there was one.
   */
  remove(filter: string, subscriber: S, shareGroup?: string): boolean {
    const wildcard = hasWildcard(filter);
    const node = wildcard ? this.wildcardNodes.get(filter) : undefined;
    const entries = wildcard ? node?.entries : this.exact.get(filter);
    if (entries === undefined || !entries.remove(subscriber, shareGroup)) return false;
    this.entryCount--;
    if (entries.count > 0) return true;
    if (node === undefined) {
      this.exact.delete(filter);
    } else {
      node.entries = undefined;
      this.wildcardNodes.delete(filter);
      this.prune(node);
    }
    return true;
  }

  /**
   * Every subscription whose filter matches the topic name `topic`: `+` matches one level, `#`
   * the parent level and any below it [MQTT-4.7.1-2], a filter starting with `+` or `#` no topic
   * starting with `$` [MQTT-4.7.2-1]. A subscriber with several matching filters appears once per
   * filter (the caller merges them [MQTT-3.3.4-2]). Order: unspecified.
   */
  match(topic: string): SubscriptionMatch<S>[] {
    const found: SubscriptionMatch<S>[] = [];
    this.exact.get(topic)?.pushTo(found);
    if (this.wildcardNodes.size > 0) {
      const dollar = topic.length > 0 && topic.charCodeAt(0) === DOLLAR;
      this.collect(this.root, topic.split('/'), 0, dollar, found);
    }
    return found;
  }

  /** True when at least one subscription matches `topic` (cheaper than match: stops at the first). */
  hasMatch(topic: string): boolean {
    if (this.exact.has(topic)) return true;
    if (this.wildcardNodes.size === 0) return false;
    const dollar = topic.length > 0 && topic.charCodeAt(0) === DOLLAR;
    return this.reaches(this.root, topic.split('/'), 0, dollar);
  }

  /** The distinct filters held. */
  *filters(): Iterable<string> {
    yield* this.exact.keys();
    yield* this.wildcardNodes.keys();
  }

  private collect(node: WildcardNode<S>, levels: readonly string[], depth: number, dollar: boolean, found: SubscriptionMatch<S>[]): void {
    const wildcardsAllowed = depth > 0 || !dollar;
    // `#` matches whatever is left, including nothing: `a/#` matches `a` [MQTT-4.7.1-2].
    if (wildcardsAllowed) node.hash?.entries?.pushTo(found);
    if (depth === levels.length) {
      node.entries?.pushTo(found);
      return;
    }
    const exact = node.children?.get(levels[depth]!);
    if (exact !== undefined) this.collect(exact, levels, depth + 1, dollar, found);
    if (wildcardsAllowed && node.plus !== undefined) this.collect(node.plus, levels, depth + 1, dollar, found);
  }

  private reaches(node: WildcardNode<S>, levels: readonly string[], depth: number, dollar: boolean): boolean {
    const wildcardsAllowed = depth > 0 || !dollar;
    if (wildcardsAllowed && node.hash?.entries !== undefined) return true;
    if (depth === levels.length) return node.entries !== undefined;
    const exact = node.children?.get(levels[depth]!);
    if (exact !== undefined && this.reaches(exact, levels, depth + 1, dollar)) return true;
    return wildcardsAllowed && node.plus !== undefined && this.reaches(node.plus, levels, depth + 1, dollar);
  }

  private createPath(filter: string): WildcardNode<S> {
    let node = this.root;
    for (const level of filter.split('/')) node = node.child(level) ?? node.addChild(level);
    this.wildcardNodes.set(filter, node);
    return node;
  }

  /** Drops nodes that no longer lead to any subscription, from `node` up. */
  private prune(node: WildcardNode<S>): void {
    let current: WildcardNode<S> | undefined = node;
    while (current?.parent !== undefined && current.empty) {
      current.parent.removeChild(current);
      current = current.parent;
    }
  }
}
