import type { ServerCapabilities } from './capabilities.js';
import type { OutboundMessage } from './outbound-window.js';
import type { ConnectionInfo } from '../listeners/types.js';
import type { ReasonCodeValue } from './reason-codes.js';
import type { SubscribeRequest, UnsubscribeRequest } from './subscribe-request.js';

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
       * `server-busy`: CONNACK 0x89 server busy (3.1.1: return code 3, server unavailable), e.g.
       *   when too many logins are being checked at once.
       */
      readonly code: 'bad-credentials' | 'not-authorized' | 'server-busy';
      /** For the log; never the password. */
      readonly reason: string;
    };

export interface MqttHooks {
  /** Decides whether a client may connect, and under which username. */
  authenticate(request: ConnectRequest): ConnectDecision | Promise<ConnectDecision>;
  onPublish(session: MqttSession, message: InboundPublish, reply: PublishReply): void;
  onConnect?(session: MqttSession): void;
  onDisconnect?(session: MqttSession, reason: string): void;
  /** The connection of an authenticated session closed, whatever the reason; called exactly once. */
  onClosed?(session: MqttSession): void;
  /**
   * What this server offers subscribers, asked at each CONNECT (MQTT 5 CONNACK states it; SUBSCRIBE
   * is validated against it). Default: INGEST_ONLY_CAPABILITIES (nothing for subscribers).
   */
  capabilities?(): ServerCapabilities;
  /**
   * A valid SUBSCRIBE: one SUBACK code per entry of `request.subscriptions`, in that order (granted
   * QoS, or a failure code >= 0x80; on 3.1.1 every failure is sent as 0x80). Filters in
   * `request.refused` are answered with their code whatever this returns. Default: every filter
   * refused (0x87 not authorized; 3.1.1: 0x80).
   */
  onSubscribe?(session: MqttSession, request: SubscribeRequest): readonly number[] | Promise<readonly number[]>;
  /** A valid UNSUBSCRIBE: one UNSUBACK code per filter (MQTT 5 only sends them). Default: 0x11 no subscription existed. */
  onUnsubscribe?(session: MqttSession, request: UnsubscribeRequest): readonly number[] | Promise<readonly number[]>;
  /** The client acknowledged a message given to `MqttEngine.deliver` (QoS 1 PUBACK, QoS 2 PUBCOMP): its token. */
  onDeliveryAcknowledged?(session: MqttSession, token: unknown): void;
}

export type { ConnectionInfo, OutboundMessage };
