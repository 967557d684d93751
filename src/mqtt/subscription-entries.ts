// The subscriptions of one topic filter: who holds it, unshared or in which share group, with
// which options. Kept small for the common case of one subscriber per filter (a device subscribed
// to its own command topic): the entry is then held directly, without a Map.
import type { QoS } from './types.js';

export interface SubscriptionOptions {
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly subscriptionIdentifier: number | undefined;
  /** $share group name, undefined for a normal subscription. */
  readonly shareGroup: string | undefined;
}

export interface SubscriptionMatch<S> {
  readonly subscriber: S;
  /** The filter as matched against topic names: without any `$share/{group}/` prefix. */
  readonly filter: string;
  readonly options: SubscriptionOptions;
}

/** One subscriber's entry, or several by subscriber. */
type Members<S> = SubscriptionMatch<S> | Map<S, SubscriptionMatch<S>>;

function isMap<S>(members: Members<S>): members is Map<S, SubscriptionMatch<S>> {
  return members instanceof Map;
}

function withMember<S>(members: Members<S> | undefined, entry: SubscriptionMatch<S>): { members: Members<S>; added: boolean } {
  if (members === undefined) return { members: entry, added: true };
  if (isMap(members)) {
    const added = !members.has(entry.subscriber);
    members.set(entry.subscriber, entry);
    return { members, added };
  }
  if (members.subscriber === entry.subscriber) return { members: entry, added: false };
  return { members: new Map([[members.subscriber, members], [entry.subscriber, entry]]), added: true };
}

/** The members left after removing `subscriber`, and whether it was one. */
function withoutMember<S>(members: Members<S> | undefined, subscriber: S): { members: Members<S> | undefined; removed: boolean } {
  if (members === undefined) return { members, removed: false };
  if (!isMap(members)) return members.subscriber === subscriber ? { members: undefined, removed: true } : { members, removed: false };
  const removed = members.delete(subscriber);
  return { members: members.size === 0 ? undefined : members, removed };
}

function pushMembers<S>(members: Members<S> | undefined, found: SubscriptionMatch<S>[]): void {
  if (members === undefined) return;
  if (!isMap(members)) found.push(members);
  else for (const entry of members.values()) found.push(entry);
}

/** Every subscription to one filter. */
export class FilterEntries<S> {
  private unshared: Members<S> | undefined;
  private shared: Map<string, Members<S>> | undefined;
  /** Number of subscriptions held. */
  count = 0;

  /** Adds, or replaces the entry of the same subscriber in the same share group; true when new. */
  add(entry: SubscriptionMatch<S>): boolean {
    const group = entry.options.shareGroup;
    let added: boolean;
    if (group === undefined) {
      const next = withMember(this.unshared, entry);
      this.unshared = next.members;
      added = next.added;
    } else {
      this.shared ??= new Map();
      const next = withMember(this.shared.get(group), entry);
      this.shared.set(group, next.members);
      added = next.added;
    }
    if (added) this.count++;
    return added;
  }

  remove(subscriber: S, shareGroup: string | undefined): boolean {
    let removed: boolean;
    if (shareGroup === undefined) {
      const next = withoutMember(this.unshared, subscriber);
      this.unshared = next.members;
      removed = next.removed;
    } else {
      const next = withoutMember(this.shared?.get(shareGroup), subscriber);
      removed = next.removed;
      if (next.members !== undefined) this.shared!.set(shareGroup, next.members);
      else if (this.shared?.delete(shareGroup) === true && this.shared.size === 0) this.shared = undefined;
    }
    if (removed) this.count--;
    return removed;
  }

  pushTo(found: SubscriptionMatch<S>[]): void {
    pushMembers(this.unshared, found);
    if (this.shared !== undefined) for (const members of this.shared.values()) pushMembers(members, found);
  }
}
