/** Lists the topics that exist in the cluster (one metadata request). */
export type TopicLister = () => Promise<readonly string[]>;

export type TopicStatus = 'exists' | 'missing' | 'unknown';

/**
 * Knows which Kafka topics exist, so a record for a missing topic is refused at once instead of
 * waiting out the client's retries (the cluster must not create topics on first use). Lookups of
 * unknown names are coalesced into one listing, at most one per `refreshIntervalMs`.
 */
export class TopicCatalog {
  private known = new Set<string>();
  private listedAt = Number.NEGATIVE_INFINITY;
  private listing: Promise<void> | undefined;

  constructor(
    private readonly list: TopicLister,
    private readonly refreshIntervalMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Synchronous answer when the topic is known to exist; otherwise a (coalesced) listing decides. */
  check(topic: string): 'exists' | Promise<TopicStatus> {
    if (this.known.has(topic)) return 'exists';
    return this.refresh().then(
      () => (this.known.has(topic) ? 'exists' : 'missing'),
      () => 'unknown' as const,
    );
  }

  /** Lists the topics now, so the first records do not wait for a listing (failures are retried on use). */
  prime(): void {
    this.refresh().catch(() => undefined);
  }

  /** Forgets a topic Kafka said is gone; the next record for it triggers a fresh listing. */
  forget(topic: string): void {
    this.known.delete(topic);
  }

  private refresh(): Promise<void> {
    if (this.listing !== undefined) return this.listing;
    if (this.now() - this.listedAt < this.refreshIntervalMs) return Promise.resolve();
    this.listing = this.list()
      .then((topics) => {
        this.known = new Set(topics);
        this.listedAt = this.now();
      })
      .finally(() => {
        this.listing = undefined;
      });
    return this.listing;
  }
}
