// A persistent MQTT session as the sessions topic holds it (key: client id), and its codec. Pure.
// Positions and offsets are decimal strings: Kafka offsets are 64-bit, JSON numbers are not.
import type { ValueCodec } from '../kafka/compacted-store.js';

export interface StoredSubscription {
  readonly filter: string;
  readonly qos: 0 | 1 | 2;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly subscriptionIdentifier?: number;
  /** A shared subscription's group (`$share/{group}/{filter}`): served by the group's consumer, no positions of its own. */
  readonly shareGroup?: string;
}

/** A delivered message not completely acknowledged (or queued) when the record was written. */
export interface StoredInflight {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly qos: 1 | 2;
  /** undefined: not sent yet (queued). */
  readonly packetId?: number;
  /** `released`: PUBREC came, PUBREL went; only PUBCOMP is missing. */
  readonly state: 'queued' | 'sent' | 'released';
}

/** A client's Last Will as a session record keeps it, for a replica that outlives the client's. */
export interface StoredWill {
  readonly topic: string;
  /** Base64. */
  readonly payload: string;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  readonly delaySeconds: number;
  readonly contentType?: string;
  readonly payloadFormatIndicator?: boolean;
  readonly responseTopic?: string;
  /** Base64. */
  readonly correlationData?: string;
  readonly userProperties?: Readonly<Record<string, string | readonly string[]>>;
  readonly messageExpiryInterval?: number;
}

/**
 * A replica's lease in the sessions topic (under a key no client id can have): renewed while the
 * replica runs; once it has lapsed, another replica takes over the sessions the replica held.
 */
export interface ReplicaLease {
  readonly replica: string;
  /** ms since the epoch of the last renewal. */
  readonly renewedAt: number;
  readonly leaseMs: number;
}

/** A QoS 2 PUBLISH written down before it was sent to Kafka. */
export interface StoredInboundIntent {
  readonly packetId: number;
  /** The `mqtt.publish_id` header its record carries: unique for the client id. */
  readonly publishId: string;
  /** When the PUBLISH arrived (ms since the epoch): its record's timestamp; the lookup starts there. */
  readonly at: number;
}

/** MQTT client ids cannot hold U+0000 [MQTT-1.5.4-2]: keys starting with it are the proxy's own. */
export const LEASE_KEY_PREFIX = '\u0000replica/';

export interface StoredSession {
  /** Which connection wrote it: a replica writes a session only while the record is its connection's. */
  readonly connectionId: string;
  /** Grows with every connection of the client id: the newer connection wins a takeover. */
  readonly epoch: number;
  /** The replica the connection is (or was) on. */
  readonly owner: string;
  readonly connected: boolean;
  /** Seconds the session outlives its connection (0: it ends with it). */
  readonly expirySeconds: number;
  /** ms since the epoch; set once the connection ended. */
  readonly disconnectedAt?: number;
  readonly subscriptions: readonly StoredSubscription[];
  /** Kafka topic -> partition -> next offset to deliver (everything before it is done). */
  readonly positions: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly inflight: readonly StoredInflight[];
  /** QoS 2 packet identifiers received and written to Kafka (PUBREC sent) whose PUBREL has not come. */
  readonly inboundQoS2: readonly number[];
  /**
   * QoS 2 PUBLISHes received that may or may not be in Kafka (written down before they were sent
   * there): a retransmission of one is looked up in Kafka by its publish id before it is sent again.
   */
  readonly inboundInDoubt?: readonly StoredInboundIntent[];
  /** The authenticated user (a will adopted by another replica is published as theirs). */
  readonly username?: string;
  /**
   * While connected: the will to publish if the connection ends without DISCONNECT. While
   * disconnected, with `willAt`: the will waiting out its delay (the owner publishes it then; if the
   * owner is lost, the replica that takes its sessions over does).
   */
  readonly will?: StoredWill;
  /** When the waiting will is due (ms since the epoch); only while disconnected. */
  readonly willAt?: number;
}

/** What the sessions topic holds under one key. */
export type SessionTopicValue = { readonly kind: 'session'; readonly session: StoredSession } | { readonly kind: 'lease'; readonly lease: ReplicaLease };

/** When a disconnected session expires (ms since the epoch); undefined while connected. */
export function sessionExpiresAt(session: StoredSession): number | undefined {
  if (session.connected || session.disconnectedAt === undefined) return undefined;
  return session.disconnectedAt + session.expirySeconds * 1000;
}

const VERSION = 1;

export const sessionCodec: ValueCodec<SessionTopicValue> = {
  encode: (value) => Buffer.from(JSON.stringify(value.kind === 'lease' ? { v: VERSION, lease: value.lease } : { v: VERSION, ...value.session })),
  decode(bytes, key) {
    const raw: unknown = JSON.parse(bytes.toString('utf8'));
    if (!isRecord(raw) || raw['v'] !== VERSION) throw new Error(`session ${key}: not a version ${VERSION} session record`);
    if (key.startsWith(LEASE_KEY_PREFIX)) {
      const lease = raw['lease'];
      if (!isRecord(lease) || typeof lease['replica'] !== 'string' || !Number.isFinite(lease['renewedAt']) || !Number.isFinite(lease['leaseMs'])) throw new Error(`lease ${key}: malformed`);
      return { kind: 'lease', lease: lease as unknown as ReplicaLease };
    }
    const { v: _v, ...rest } = raw;
    const problem = shapeProblem(rest);
    if (problem !== undefined) throw new Error(`session ${key}: ${problem}`);
    return { kind: 'session', session: rest as unknown as StoredSession };
  },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What makes a decoded record unusable; undefined when it has the shape of a StoredSession. */
export function shapeProblem(raw: Record<string, unknown>): string | undefined {
  if (typeof raw['connectionId'] !== 'string') return 'connectionId missing';
  if (!Number.isInteger(raw['epoch'])) return 'epoch missing';
  if (typeof raw['owner'] !== 'string') return 'owner missing';
  if (typeof raw['connected'] !== 'boolean') return 'connected missing';
  if (!Number.isInteger(raw['expirySeconds'])) return 'expirySeconds missing';
  if (!Array.isArray(raw['subscriptions']) || !raw['subscriptions'].every((s) => isRecord(s) && typeof s['filter'] === 'string' && (s['shareGroup'] === undefined || typeof s['shareGroup'] === 'string'))) return 'subscriptions malformed';
  if (!isRecord(raw['positions']) || !Object.values(raw['positions']).every((p) => isRecord(p) && Object.values(p).every((o) => typeof o === 'string' && /^\d+$/.test(o)))) return 'positions malformed';
  if (!Array.isArray(raw['inflight']) || !raw['inflight'].every((e) => isRecord(e) && typeof e['topic'] === 'string' && typeof e['offset'] === 'string' && /^\d+$/.test(e['offset']))) return 'inflight malformed';
  if (!Array.isArray(raw['inboundQoS2']) || !raw['inboundQoS2'].every((id) => Number.isInteger(id))) return 'inboundQoS2 malformed';
  if (raw['willAt'] !== undefined && !Number.isFinite(raw['willAt'])) return 'willAt malformed';
  const doubts = raw['inboundInDoubt'];
  if (doubts !== undefined && (!Array.isArray(doubts) || !doubts.every(isIntent))) return 'inboundInDoubt malformed';
  return undefined;
}

function isIntent(value: unknown): boolean {
  return isRecord(value) && Number.isInteger(value['packetId']) && typeof value['publishId'] === 'string' && Number.isFinite(value['at']);
}
