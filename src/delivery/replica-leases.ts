// Each replica renews a lease in the sessions topic. When one's lease lapses (it was killed, or cut
// off), the first live replica takes over what it held: its connected sessions become disconnected
// (so they expire), and their wills (and the wills already waiting out their delay) become this
// replica's, published when due unless the client came back. The record names the new owner and
// keeps the will until it is published, so a chain of lost replicas still publishes it once.
import type { WillMessage } from '../mqtt/types.js';
import type { Logger } from '../observability/logger.js';
import type { KafkaSessionStore, ReplicaLease, StoredSession } from '../state/session-store.js';
import { dropPublishedWill, willFromStored } from './stored-will.js';

/** What the leases need of the session store. */
export type LeaseStore = Pick<KafkaSessionStore, 'get' | 'entries' | 'leases' | 'set' | 'delete' | 'renewLease' | 'dropLease'>;

export interface ReplicaLeasesOptions {
  readonly store: LeaseStore;
  readonly replicaId: string;
  /** How long a lease lasts without renewal [15000]; renewed three times per lease. */
  readonly leaseMs?: number;
  readonly logger: Logger;
  /** Publishes a will as the client's (the ingest path: rules, ACLs, Kafka). */
  readonly publishWill: (clientId: string, username: string | undefined, will: WillMessage) => void;
  /** Counts what is taken over (metrics). */
  readonly count?: (event: 'adopted' | 'will-published') => void;
}

/** A lapsed lease is forgotten (tombstoned) this long after it lapsed. */
const FORGET_LEASE_MS = 3_600_000;

export class ReplicaLeases {
  private readonly leaseMs: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private readonly adopting = new Set<string>();
  private readonly willTimers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: ReplicaLeasesOptions) {
    this.leaseMs = options.leaseMs ?? 15_000;
  }

  /** Renews the lease once (resolves when Kafka has it), then keeps renewing it and watching the others'. */
  async start(): Promise<void> {
    await this.renew();
    this.timer = setInterval(() => {
      void this.renew().catch((error: unknown) => this.options.logger.warn({ err: error }, 'replica lease not renewed'));
      this.check(Date.now());
    }, Math.max(100, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  /** A clean stop: the lease goes (every session of this replica was written as disconnected). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const timer of this.willTimers) clearTimeout(timer);
    this.willTimers.clear();
    await this.options.store.dropLease(this.options.replicaId).catch(() => undefined);
  }

  /** Takes over the sessions of replicas whose lease lapsed, if this replica is the first live one. */
  check(now: number): void {
    const { store, replicaId } = this.options;
    const leases = store.leases();
    const live = [...leases.values()].filter((l) => l.renewedAt + l.leaseMs > now).map((l) => l.replica).sort();
    if (live[0] !== replicaId) return;
    for (const [clientId, session] of store.entries()) {
      if (session.owner === replicaId || this.adopting.has(clientId)) continue;
      if (!session.connected && session.willAt === undefined) continue;
      const lostAt = this.lostAt(leases.get(session.owner), now);
      if (lostAt !== undefined) void this.adopt(clientId, session, lostAt);
    }
    for (const lease of leases.values()) {
      if (lease.renewedAt + lease.leaseMs + FORGET_LEASE_MS < now) void store.dropLease(lease.replica).catch(() => undefined);
    }
  }

  private renew(): Promise<void> {
    return this.options.store.renewLease({ replica: this.options.replicaId, renewedAt: Date.now(), leaseMs: this.leaseMs });
  }

  /** When the owner was lost; undefined while it may still be alive. */
  private lostAt(lease: ReplicaLease | undefined, now: number): number | undefined {
    // No lease at all: gone before this replica started, or never renewed; give it two leases.
    if (lease === undefined) return this.startedAt + 2 * this.leaseMs < now ? now : undefined;
    const lapsed = lease.renewedAt + lease.leaseMs;
    return lapsed <= now ? lapsed : undefined;
  }

  private async adopt(clientId: string, session: StoredSession, lostAt: number): Promise<void> {
    const { store, logger, replicaId } = this.options;
    this.adopting.add(clientId);
    try {
      if (store.get(clientId)?.connectionId !== session.connectionId) return;
      const { will, willAt: waitingSince, ...rest } = session;
      const willAt = will === undefined ? undefined : (waitingSince ?? lostAt + will.delaySeconds * 1000);
      const adopted: StoredSession = { ...rest, owner: replicaId, connected: false, disconnectedAt: session.disconnectedAt ?? lostAt, ...(will !== undefined && { will, willAt }) };
      if (session.expirySeconds === 0) await store.delete(clientId);
      else await store.set(clientId, adopted);
      logger.info({ clientId, replica: session.owner, will: will !== undefined }, session.connected ? 'session of a lost replica taken over: disconnected' : 'waiting will of a lost replica taken over');
      this.options.count?.('adopted');
      if (will !== undefined) this.scheduleWill(clientId, adopted, willAt!);
    } catch (error) {
      logger.warn({ err: error, clientId }, 'session of a lost replica not taken over; tried again');
    } finally {
      this.adopting.delete(clientId);
    }
  }

  /** When the will is due, unless the client connected again; then the record no longer holds it. */
  private scheduleWill(clientId: string, session: StoredSession, willAt: number): void {
    const will = willFromStored(session.will!);
    const timer = setTimeout(() => {
      this.willTimers.delete(timer);
      const { store, logger } = this.options;
      const current = store.get(clientId);
      if (current !== undefined && current.connectionId !== session.connectionId) return;
      logger.info({ clientId, topic: will.topic }, 'will of a client of a lost replica published');
      this.options.publishWill(clientId, session.username, will);
      this.options.count?.('will-published');
      if (current !== undefined) dropPublishedWill(store, clientId, current, logger);
    }, Math.max(0, willAt - Date.now()));
    this.willTimers.add(timer);
  }
}
