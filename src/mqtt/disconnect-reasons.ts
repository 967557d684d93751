import { ReasonCode } from './reason-codes.js';

/**
 * The `disconnects_total{reason}` word for each reason code the engine sends a client away with
 * (3.1.1 clients are closed without it, but counted the same). Bounded by construction.
 */
const DROP_REASONS: Readonly<Record<number, string>> = {
  [ReasonCode.MalformedPacket]: 'malformed',
  [ReasonCode.ProtocolError]: 'protocol-error',
  [ReasonCode.NotAuthorized]: 'not-authorized',
  [ReasonCode.ServerBusy]: 'kafka-unavailable',
  [ReasonCode.ServerShuttingDown]: 'shutdown',
  [ReasonCode.KeepAliveTimeout]: 'keep-alive-timeout',
  [ReasonCode.SessionTakenOver]: 'taken-over',
  [ReasonCode.TopicNameInvalid]: 'topic-name-invalid',
  [ReasonCode.ReceiveMaximumExceeded]: 'receive-maximum',
  [ReasonCode.TopicAliasInvalid]: 'topic-alias-invalid',
  [ReasonCode.PacketTooLarge]: 'packet-too-large',
  [ReasonCode.MessageRateTooHigh]: 'publish-rate',
  [ReasonCode.QuotaExceeded]: 'quota-exceeded',
  [ReasonCode.RetainNotSupported]: 'retain-not-supported',
  [ReasonCode.MaximumConnectTime]: 'credentials-expired',
};

export function dropReason(reasonCode: number): string {
  return DROP_REASONS[reasonCode] ?? 'error';
}
