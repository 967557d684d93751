// Sessions that outlive their connection, kept in the sessions topic so that any replica can resume
// them: what a CONNECT finds (Session Present), what is stored while the client is connected and
// when it goes (subscriptions, positions, in-flight messages, QoS 2 identifiers), takeover across
// replicas (the newer connection's record wins; the older connection is sent away with 0x8E and
// writes no more), and expiry.
import { randomUUID } from 'node:crypto';
import type { MqttSession, SessionEnd, SessionOpened, SessionRequest } from '../mqtt/types.js';
import { ReasonCode } from '../mqtt/reason-codes.js';
import type { Logger } from '../observability/logger.js';
import type { KafkaSessionStore, StoredSession, StoredWill } from '../state/session-store.js';
import { storedWill } from './stored-will.js';
import { sessionExpiresAt } from '../state/session-store.js';
import type { LocalSubscriptions } from './local-subscriptions.js';
import { isDeliveryToken as isToken, SessionPositions } from './session-positions.js';
import { InboundIntents } from './inbound-intents.js';
import { ExpiryTimers } from './session-expiry.js';
import { snapshotSession, type LivePositions } from './session-snapshot.js';
import { withTimeout } from '../common/with-timeout.js';
import type { SessionResume } from './session-resume.js';
import type { SessionEngine } from './types.js';

export interface PersistentSessionsOptions {
  readonly store: KafkaSessionStore;
  readonly subscriptions: LocalSubscriptions;
  readonly engine: () => SessionEngine;
  readonly resume: SessionResume;
  readonly live: LivePositions;
  readonly maxExpirySeconds: number;
  /** This replica, as session records name their owner. */
  readonly replicaId: string;
  readonly logger: Logger;
  /** How long after a change a connected session is written [1000]. */
  readonly persistDelayMs?: number;
  /** The longest a CONNECT waits for its session record to be written [10000]; then it is refused (server unavailable). */
  readonly openTimeoutMs?: number;
  /** Counts what happens to sessions (metrics). */
  readonly count?: (event: 'created' | 'resumed' | 'taken-over' | 'expired') => void;
}

interface Local {
  readonly session: MqttSession;
  readonly connectionId: string;
  readonly epoch: number;
  expirySeconds: number;
  readonly positions: SessionPositions;
  readonly intents: InboundIntents;
  /** Our record was read back: records after it for this client id are someone else's. */
  confirmed: boolean;
  /** Another connection's record came after ours: nothing more is written for this one. */
  fenced: boolean;
  timer: NodeJS.Timeout | undefined;
  writing: Promise<void>;
  ended: Promise<void>;
  end: () => void;
  stopResume: (() => Promise<void>) | undefined;
  /** The will while connected (another replica publishes it if this one is lost). */
  readonly will: StoredWill | undefined;
  /** A write asked for now (a PUBREL waits for it), shared by the asks of one tick. */
  soon: Promise<void> | undefined;
}

const TAKEN_OVER_WAIT_MS = 2000;

export class PersistentSessions {
  private readonly bySession = new Map<MqttSession, Local>();
  private readonly byClientId = new Map<string, Local>();
  private readonly expiry: ExpiryTimers;
  private readonly writes = new Set<Promise<void>>();

  constructor(private readonly options: PersistentSessionsOptions) {
    this.expiry = new ExpiryTimers(options.store, options.logger, () => options.count?.('expired'));
  }

  positionsOf(session: MqttSession): SessionPositions | undefined {
    return this.bySession.get(session)?.positions;
  }

  get connected(): number {
    return this.bySession.size;
  }

  async open(session: MqttSession, request: SessionRequest): Promise<SessionOpened> {
    const { store, replicaId } = this.options;
    // Not read to its end yet (the proxy is not ready): a stored session could be missed.
    if (store.state !== 'ready') throw new Error('the sessions are not read yet');
    const { clientId } = session;
    const previous = this.byClientId.get(clientId);
    // Taken over on this replica: its last record first, so this one resumes from it.
    if (previous !== undefined) await Promise.race([previous.ended, new Promise((resolve) => setTimeout(resolve, TAKEN_OVER_WAIT_MS))]);
    // What another replica wrote before this CONNECT (its connection of this client id ending) is read first.
    await withTimeout(store.sync(), this.options.openTimeoutMs ?? 10_000, 'the sessions topic was not read to its end in time');
    const found = store.get(clientId);
    const expiresAt = found === undefined ? undefined : sessionExpiresAt(found);
    const usable = found !== undefined && found.expirySeconds > 0 && (expiresAt === undefined || expiresAt > Date.now());
    const present = !request.clean && usable;
    const expirySeconds = Math.min(request.expirySeconds, this.options.maxExpirySeconds);
    const stored = present ? found : undefined;
    const record: StoredSession = {
      connectionId: randomUUID(),
      epoch: (found?.epoch ?? 0) + 1,
      owner: replicaId,
      connected: true,
      expirySeconds,
      subscriptions: stored?.subscriptions ?? [],
      positions: stored?.positions ?? {},
      inflight: stored?.inflight ?? [],
      inboundQoS2: stored?.inboundQoS2 ?? [],
      ...(stored?.inboundInDoubt !== undefined && { inboundInDoubt: stored.inboundInDoubt }),
      ...(session.username !== undefined && { username: session.username }),
      ...(request.will !== undefined && { will: storedWill(request.will, expirySeconds) }),
    };
    this.expiry.clear(clientId);
    const local = this.track(session, record);
    await withTimeout(store.set(clientId, record), this.options.openTimeoutMs ?? 10_000, 'the session record was not written in time');
    local.confirmed = true;
    if (stored !== undefined) this.restore(local, stored);
    if (expirySeconds > 0) this.options.count?.(stored === undefined ? 'created' : 'resumed');
    return { present, expirySeconds, ...(stored !== undefined && { inboundQoS2: stored.inboundQoS2 }) };
  }

  acknowledged(session: MqttSession, token: unknown): void {
    const local = this.bySession.get(session);
    if (local === undefined || !isToken(token)) return;
    local.positions.acknowledged(token);
    this.schedule(local);
  }

  /**
   * PUBREC for a QoS 2 delivery: its PUBREL waits until the session is stored with the message
   * released, so that after a crash the client gets PUBREL again, never the PUBLISH.
   */
  released(session: MqttSession, token: unknown): Promise<void> | undefined {
    return isToken(token) ? this.persistSoon(session) : undefined;
  }

  /**
   * The QoS 2 messages the client sends are kept (its session outlives the connection): their
   * intents, which {@link persistSoon} stores. Undefined when the session ends with its connection.
   */
  inboundOf(session: MqttSession): InboundIntents | undefined {
    const local = this.bySession.get(session);
    return local === undefined || local.fenced || local.expirySeconds === 0 ? undefined : local.intents;
  }

  /** PUBREL from the client: PUBCOMP waits until the session no longer holds the identifier. */
  inboundReleased(session: MqttSession, packetId: number): Promise<void> | undefined {
    const intents = this.inboundOf(session);
    if (intents === undefined) return undefined;
    intents.forget(packetId);
    return this.persistSoon(session);
  }

  /**
   * Stores the session as it is now. The asks made while a write is on its way share the next one,
   * made once that write is done (so a busy session has one write on its way and one gathering).
   * Rejects when it was not written.
   */
  persistSoon(session: MqttSession): Promise<void> | undefined {
    const local = this.bySession.get(session);
    if (local === undefined || local.fenced) return undefined;
    local.soon ??= local.writing.then(() => new Promise((resolve) => setImmediate(resolve))).then(async () => {
      local.soon = undefined;
      clearTimeout(local.timer);
      local.timer = undefined;
      const engine = this.options.engine();
      if (!(await this.write(local, this.recordOf(local, engine.outboundOf(session), engine.inboundQoS2Of(session))))) throw new Error('session not written');
    });
    return local.soon;
  }

  /** Something the session stores changed (a delivery, a SUBSCRIBE): written soon. */
  changed(session: MqttSession): void {
    const local = this.bySession.get(session);
    if (local !== undefined) this.schedule(local);
  }

  ended(session: MqttSession, end: SessionEnd): void {
    const local = this.bySession.get(session);
    if (local === undefined) return;
    this.bySession.delete(session);
    if (this.byClientId.get(session.clientId) === local) this.byClientId.delete(session.clientId);
    clearTimeout(local.timer);
    void local.stopResume?.();
    local.expirySeconds = Math.min(end.expirySeconds, this.options.maxExpirySeconds);
    let record: StoredSession | undefined;
    if (local.expirySeconds > 0) {
      const { will, ...kept } = this.recordOf(local, end.outbound, end.inboundQoS2);
      const now = Date.now();
      // A will waiting out its delay stays in the record: if this replica is lost, another publishes it.
      const waiting = will !== undefined && end.willDelayMs !== undefined ? { will, willAt: now + end.willDelayMs } : undefined;
      record = { ...kept, connected: false, disconnectedAt: now, ...waiting };
      if (waiting !== undefined) this.expiry.dropWillAfter(session.clientId, local.connectionId, waiting.willAt);
    }
    void this.write(local, record).finally(local.end);
    if (record !== undefined) this.expiry.arm(session.clientId, local.connectionId, local.expirySeconds);
  }

  /** Every record read from the sessions topic, this replica's own included. */
  onRecord(clientId: string, record: StoredSession | undefined): void {
    if (record === undefined) return;
    const local = this.byClientId.get(clientId);
    if (local !== undefined && local.confirmed && !local.fenced && record.connectionId !== local.connectionId && record.epoch >= local.epoch) {
      local.fenced = true;
      this.options.count?.('taken-over');
      this.options.logger.info({ clientId, takenOverBy: record.owner }, 'session taken over by a connection on another replica');
      this.options.engine().disconnect(local.session, ReasonCode.SessionTakenOver, 'another connection uses this client identifier');
    }
    // Another replica's record: the client connected there, or a replica took this one's sessions
    // over (their wills with them); a will waiting here is not published.
    if (record.owner !== this.options.replicaId) {
      if (this.options.engine().cancelWill(clientId)) this.options.logger.debug({ clientId, owner: record.owner }, 'will cancelled: the session is on another replica');
      if (record.connected) this.expiry.clear(clientId);
    }
  }

  /** Sessions disconnected past their expiry, wherever they were, are deleted (a tombstone). */
  sweep(now = Date.now()): number {
    return this.expiry.sweep(now, (clientId) => this.byClientId.has(clientId));
  }

  /** Resolves once every write under way (the last ones of ended sessions too) is done. */
  async flush(): Promise<void> {
    await Promise.all([...this.writes]);
  }

  close(): void {
    this.expiry.close();
    for (const local of this.bySession.values()) clearTimeout(local.timer);
  }

  private track(session: MqttSession, record: StoredSession): Local {
    let end: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => (end = resolve));
    const local: Local = {
      session, connectionId: record.connectionId, epoch: record.epoch, expirySeconds: record.expirySeconds,
      positions: new SessionPositions(record.positions), intents: new InboundIntents(record.connectionId, record.inboundInDoubt), confirmed: false, fenced: false,
      timer: undefined, writing: Promise.resolve(), ended, end, stopResume: undefined, soon: undefined, will: record.will,
    };
    this.bySession.set(session, local);
    this.byClientId.set(session.clientId, local);
    return local;
  }

  private restore(local: Local, stored: StoredSession): void {
    const { subscriptions } = this.options;
    for (const s of stored.subscriptions) {
      subscriptions.add(local.session, s.filter, { qos: s.qos, noLocal: s.noLocal, retainAsPublished: s.retainAsPublished, subscriptionIdentifier: s.subscriptionIdentifier, shareGroup: s.shareGroup });
    }
    // After CONNACK: the resent messages follow it.
    setImmediate(() => {
      if (!this.bySession.has(local.session)) return;
      local.stopResume = this.options.resume.start(local.session, local.positions, stored, () => this.schedule(local));
    });
  }

  private schedule(local: Local): void {
    if (local.timer !== undefined || local.fenced) return;
    local.timer = setTimeout(() => {
      local.timer = undefined;
      if (!this.bySession.has(local.session)) return;
      const engine = this.options.engine();
      void this.write(local, this.recordOf(local, engine.outboundOf(local.session), engine.inboundQoS2Of(local.session)));
    }, this.options.persistDelayMs ?? 1000);
    local.timer.unref();
  }

  private recordOf(local: Local, outbound: SessionEnd['outbound'], inboundQoS2: readonly number[]): StoredSession {
    return snapshotSession(local, { live: this.options.live, subscriptions: this.options.subscriptions, replicaId: this.options.replicaId }, outbound, inboundQoS2);
  }

  /**
   * Writes (or deletes) the session, one write at a time, only while the record is this
   * connection's. Resolves false when it could not be written (logged) or was fenced.
   */
  private write(local: Local, record: StoredSession | undefined): Promise<boolean> {
    const { store, logger } = this.options;
    const clientId = local.session.clientId;
    const writing = local.writing.then(async () => {
      const current = store.get(clientId);
      if (local.fenced || (current !== undefined && current.connectionId !== local.connectionId)) return false;
      if (record === undefined) await store.delete(clientId);
      else await store.set(clientId, record);
      return true;
    }).catch((error: unknown) => {
      logger.warn({ err: error, clientId }, 'session not written');
      return false;
    });
    local.writing = writing.then(() => undefined);
    this.writes.add(local.writing);
    const done = local.writing;
    void done.finally(() => this.writes.delete(done));
    return writing;
  }
}
