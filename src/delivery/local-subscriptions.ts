// The subscriptions of this replica's connected clients: a topic-filter tree for the direct ones,
// share groups for the `$share/GROUP/FILTER` ones, and for each session what it holds, so that its
// close removes everything. It tells its watcher when a filter appears or goes, which is what
// decides which Kafka topics this replica reads.
import { SubscriptionTree, type SubscriptionMatch, type SubscriptionOptions } from '../mqtt/subscription-tree.js';
import type { MqttSession } from '../mqtt/types.js';

/** The local members of one shared subscription (ShareName and filter): one of them gets each message. */
export class ShareGroup {
  readonly members = new Map<MqttSession, SubscriptionOptions>();
  private turn = 0;

  constructor(
    readonly name: string,
    readonly filter: string,
  ) {}

  /** The members in the order to try them for the next message: round robin. */
  rotation(): MqttSession[] {
    const sessions = [...this.members.keys()];
    if (sessions.length < 2) return sessions;
    const start = this.turn++ % sessions.length;
    return [...sessions.slice(start), ...sessions.slice(0, start)];
  }
}

export interface SubscriptionWatcher {
  /** The first direct subscription with this filter was made (`present`), or the last one went. */
  directFilter(filter: string, present: boolean): void;
  /** The first local member of this share group joined, or the last one left. */
  shareGroup(group: ShareGroup, present: boolean): void;
}

const shareKey = (name: string, filter: string): string => `${name}\u0000${filter}`;

export class LocalSubscriptions {
  private readonly direct = new SubscriptionTree<MqttSession>();
  private readonly filterCounts = new Map<string, number>();
  private readonly groups = new Map<string, ShareGroup>();
  /** Per session: its subscriptions by key (the filter, or ShareName + filter). */
  private readonly bySession = new Map<MqttSession, Map<string, { readonly filter: string; readonly shareGroup: string | undefined; readonly options: SubscriptionOptions }>>();
  private sharedCount = 0;

  constructor(private readonly watcher: SubscriptionWatcher) {}

  get directCount(): number {
    return this.direct.size;
  }

  get sharedSubscriptions(): number {
    return this.sharedCount;
  }

  /** Adds or replaces [MQTT-3.8.4-3] a subscription; true when one with the same filter (and share) existed. */
  add(session: MqttSession, filter: string, options: SubscriptionOptions): boolean {
    const group = options.shareGroup;
    const key = group === undefined ? filter : shareKey(group, filter);
    let held = this.bySession.get(session);
    if (held === undefined) this.bySession.set(session, (held = new Map()));
    const existed = held.has(key);
    held.set(key, { filter, shareGroup: group, options });
    if (group === undefined) {
      this.direct.add(filter, session, options);
      if (!existed) this.countFilter(filter, 1);
    } else {
      this.shareGroupOf(group, filter).members.set(session, options);
      if (!existed) this.sharedCount++;
    }
    return existed;
  }

  /** Removes one subscription; false when the session had none with this filter (and share). */
  remove(session: MqttSession, filter: string, shareGroup: string | undefined): boolean {
    const held = this.bySession.get(session);
    const key = shareGroup === undefined ? filter : shareKey(shareGroup, filter);
    if (held?.delete(key) !== true) return false;
    if (held.size === 0) this.bySession.delete(session);
    this.drop(session, filter, shareGroup);
    return true;
  }

  /** Removes everything the session held (its connection closed). */
  removeAll(session: MqttSession): void {
    const held = this.bySession.get(session);
    if (held === undefined) return;
    this.bySession.delete(session);
    for (const { filter, shareGroup } of held.values()) this.drop(session, filter, shareGroup);
  }

  /** A session's direct subscriptions with their options (what a persistent session keeps). */
  directOf(session: MqttSession): Array<{ filter: string; options: SubscriptionOptions }> {
    const out: Array<{ filter: string; options: SubscriptionOptions }> = [];
    for (const { filter, shareGroup, options } of this.bySession.get(session)?.values() ?? []) if (shareGroup === undefined) out.push({ filter, options });
    return out;
  }

  /** A session's shared subscriptions (`$share/{group}/{filter}`) with their options. */
  sharedOf(session: MqttSession): Array<{ filter: string; shareGroup: string; options: SubscriptionOptions }> {
    const out: Array<{ filter: string; shareGroup: string; options: SubscriptionOptions }> = [];
    for (const { filter, shareGroup, options } of this.bySession.get(session)?.values() ?? []) if (shareGroup !== undefined) out.push({ filter, shareGroup, options });
    return out;
  }

  /** The direct subscriptions whose filter matches a topic name. */
  match(topic: string): Iterable<SubscriptionMatch<MqttSession>> {
    return this.direct.match(topic);
  }

  group(name: string, filter: string): ShareGroup | undefined {
    return this.groups.get(shareKey(name, filter));
  }

  private drop(session: MqttSession, filter: string, shareGroup: string | undefined): void {
    if (shareGroup === undefined) {
      this.direct.remove(filter, session);
      this.countFilter(filter, -1);
      return;
    }
    this.sharedCount--;
    const key = shareKey(shareGroup, filter);
    const group = this.groups.get(key);
    if (group === undefined) return;
    group.members.delete(session);
    if (group.members.size > 0) return;
    this.groups.delete(key);
    this.watcher.shareGroup(group, false);
  }

  private shareGroupOf(name: string, filter: string): ShareGroup {
    const key = shareKey(name, filter);
    let group = this.groups.get(key);
    if (group === undefined) {
      this.groups.set(key, (group = new ShareGroup(name, filter)));
      this.watcher.shareGroup(group, true);
    }
    return group;
  }

  private countFilter(filter: string, step: 1 | -1): void {
    const count = (this.filterCounts.get(filter) ?? 0) + step;
    if (count > 0) this.filterCounts.set(filter, count);
    else this.filterCounts.delete(filter);
    if (step === 1 && count === 1) this.watcher.directFilter(filter, true);
    if (step === -1 && count === 0) this.watcher.directFilter(filter, false);
  }
}
