import type { ServerCapabilities } from './capabilities.js';
import type { OutboundMessage, OutboundSnapshotEntry } from './outbound-window.js';
import type { ConnectionInfo } from '../listeners/types.js';
import type { ReasonCodeValue } from './reason-codes.js';
import type { SubscribeRequest, UnsubscribeRequest } from './subscribe-request.js';
import type { WillMessage } from './will.js';

/** MQTT protocol level as sent in CONNECT: 3 = 3.1, 4 = 3.1.1, 5 = 5.0. */
export type ProtocolVersion = 3 | 4 | 5;

export type QoS = 0 | 1 | 2;

/** One connected client, as the rest of the proxy sees it. */
export interface MqttSession {
  readonly clientId: string;
  readonly username: string | undefined;
  readonly protocolVersion: ProtocolVersion;
  readonly remoteAddress: string;
  /** Name of the listener the client came through, e.g. `tcp:1883`. */
  readonly listener: string;
  /** mTLS: the verified client certificate's identity (subject CN, else the first SAN). */
  readonly certificateIdentity?: string;
}

/** MQTT 5 PUBLISH properties that travel on to Kafka. Absent on 3.1.1. */
export interface PublishProperties {
  readonly contentType?: string;
  readonly payloadFormatIndicator?: boolean;
  readonly responseTopic?: string;
  readonly correlationData?: Buffer;
  readonly userProperties?: Readonly<Record<string, string | readonly string[]>>;
  readonly messageExpiryInterval?: number;
}

export interface InboundPublish {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  /** True for the client's Last Will, published by the server when the client went away. */
  readonly will: boolean;
  readonly properties: PublishProperties | undefined;
  /** Milliseconds since the epoch when the PUBLISH was received. */
  readonly receivedAt: number;
  /** The client's packet identifier: QoS 1 and 2 PUBLISHes of a connection. */
  readonly packetId?: number;
  /**
   * Set by whoever keeps the session (not the engine): names this QoS 2 message uniquely for its
   * client identifier, so that a retransmission after a crash can be recognised where it was written.
   */
  readonly publishId?: string;
}

/**
 * The answer to one PUBLISH. Exactly one method is called, once, and the engine acts on it at
 * once: acknowledgements leave in the order the answers are given, so whoever answers keeps them
 * in the order the PUBLISHes arrived (MQTT-4.6.0-2; the publish pipeline's AckSequencer does).
 */
export interface PublishReply {
  /** The message is safe: PUBACK / PUBREC with success. */
  accept(): void;
  /**
   * The message will never be accepted as sent: MQTT 5 gets a negative PUBACK / PUBREC with this
   * reason code; 3.1.1 (which has no negative acknowledgement) is disconnected.
   */
  reject(reasonCode: ReasonCodeValue, reason: string): void;
  /**
   * The message could not be taken now but may be later: no acknowledgement; the client is
   * disconnected (MQTT 5 with this reason code) so that it retransmits.
   */
  fail(reasonCode: ReasonCodeValue, reason: string): void;
  /** True once no answer can reach the client any more: its connection closed, or it was sent away. */
  readonly gone: boolean;
}

/** What a client presented in CONNECT, with where it came from. */
export interface ConnectRequest {
  readonly clientId: string;
  /** As sent in CONNECT, unverified. */
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  readonly protocolVersion: ProtocolVersion;
  readonly remoteAddress: string;
  readonly listener: string;
  readonly certificateIdentity: string | undefined;
}

export type ConnectDecision =
  | {
      readonly accepted: true;
      /** The session's username: the authenticated identity (undefined for an anonymous client). */
      readonly username: string | undefined;
      /** Milliseconds since the epoch when the credentials expire: the client is then disconnected. */
      readonly expiresAt?: number;
    }
  | {
      readonly accepted: false;
      /**
       * `bad-credentials`: CONNACK 0x86 bad user name or password (3.1.1: return code 4).
       * `not-authorized`: CONNACK 0x87 not authorized (3.1.1: return code 5).
       * `server-busy`: the credentials were not checked (too many logins at once): CONNACK 0x89
       * server busy (3.1.1: return code 3 server unavailable); the client may try again later.
       */
      readonly code: 'bad-credentials' | 'not-authorized' | 'server-busy';
      /** For the log; never the password. */
      readonly reason: string;
    };

/** What a CONNECT asks of its session. */
export interface SessionRequest {
  /** Clean Start (MQTT 5) / Clean Session (3.1.1): a stored session is discarded. */
  readonly clean: boolean;
  /**
   * How long the session should outlive the connection, in seconds: MQTT 5's Session Expiry
   * Interval (0 when absent); 3.1.1: 0 with Clean Session 1, 0xFFFFFFFF (never) with 0.
   */
  readonly expirySeconds: number;
  /** The will of the CONNECT, its delay as asked (the engine bounds it by the granted expiry). */
  readonly will: WillMessage | undefined;
}

/** The session a CONNECT gets: CONNACK's Session Present and Session Expiry Interval say so. */
export interface SessionOpened {
  /** A stored session was resumed [MQTT-3.2.2-2, MQTT-3.2.2-3]. */
  readonly present: boolean;
  /** The Session Expiry Interval granted (at most the one asked for, at least 0). */
  readonly expirySeconds: number;
  /** QoS 2 packet identifiers the client sent before whose PUBREL has not come: not handed on again. */
  readonly inboundQoS2?: readonly number[];
}

/** What a session had when its connection ended, for whoever keeps it. */
export interface SessionEnd {
  /** The Session Expiry Interval in force at the end (a DISCONNECT may have changed it). */
  readonly expirySeconds: number;
  /** Delivered messages not completely acknowledged, and those still queued, in order. */
  readonly outbound: readonly OutboundSnapshotEntry[];
  /** QoS 2 packet identifiers received whose PUBREL has not come. */
  readonly inboundQoS2: readonly number[];
  /** The will is waiting out this delay (ms, > 0): the engine publishes it then, unless the client connects again. */
  readonly willDelayMs?: number;
}

export interface MqttHooks {
  /** Decides whether a client may connect, and under which username. */
  authenticate(request: ConnectRequest): ConnectDecision | Promise<ConnectDecision>;
  onPublish(session: MqttSession, message: InboundPublish, reply: PublishReply): void;
  onConnect?(session: MqttSession): void;
  onDisconnect?(session: MqttSession, reason: string): void;
  /** The connection of an authenticated session closed, whatever the reason; called exactly once. */
  onClosed?(session: MqttSession): void;
  /**
   * Before CONNACK, once the client is authenticated (and an earlier connection with its client id
   * on this engine has been sent away): the session it resumes or starts. Default: none is kept,
   * Session Present 0, Session Expiry 0.
   */
  openSession?(session: MqttSession, request: SessionRequest): SessionOpened | Promise<SessionOpened>;
  /** The session's connection ended (just before onClosed): what it leaves behind. Only after openSession. */
  onSessionEnd?(session: MqttSession, end: SessionEnd): void;
  /**
   * What this server offers subscribers, asked at each CONNECT (MQTT 5 CONNACK states it; SUBSCRIBE
   * is validated against it). Default: INGEST_ONLY_CAPABILITIES (nothing for subscribers).
   */
  capabilities?(): ServerCapabilities;
  /**
   * A valid SUBSCRIBE: one SUBACK code per entry of `request.subscriptions`, in that order (granted
   * QoS, or a failure code >= 0x80; on 3.1.1 every failure is sent as 0x80). Filters in
   * `request.refused` (invalid ones, and wildcard or shared ones the capabilities do not offer:
   * 0xA2, 0x9E) are answered with their code whatever this returns. Default: every filter refused
   * with 0x80 (nothing is served to subscribers yet).
   */
  onSubscribe?(session: MqttSession, request: SubscribeRequest): readonly number[] | Promise<readonly number[]>;
  /** A valid UNSUBSCRIBE: one UNSUBACK code per filter (MQTT 5 only sends them). Default: 0x11 no subscription existed. */
  onUnsubscribe?(session: MqttSession, request: UnsubscribeRequest): readonly number[] | Promise<readonly number[]>;
  /** The client acknowledged a message given to `MqttEngine.deliver` (QoS 1 PUBACK, QoS 2 PUBCOMP): its token. */
  onDeliveryAcknowledged?(session: MqttSession, token: unknown): void;
  /**
   * The client sent PUBREC for a QoS 2 message given to `deliver`: its PUBREL waits for the promise
   * returned (a session store writes down first that only PUBREL is left, so that a crash never
   * makes the server send the PUBLISH again, which the client would take for a new message).
   */
  onDeliveryReleased?(session: MqttSession, token: unknown): Promise<void> | undefined;
  /**
   * The client sent PUBREL for a QoS 2 PUBLISH it sent (known to the engine or not): PUBCOMP waits
   * for the promise returned (a session store writes down first that the packet identifier is free,
   * so that after a crash a new message with it is never taken for the old one). A rejection closes
   * the connection without PUBCOMP: the client sends PUBREL again.
   */
  onQoS2Released?(session: MqttSession, packetId: number): Promise<void> | undefined;
}

export type { ConnectionInfo, OutboundMessage, OutboundSnapshotEntry, WillMessage };
