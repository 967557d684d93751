/** MQTT 5 reason codes the proxy sends (MQTT 5.0 section 2.4). */
export const ReasonCode = {
  Success: 0x00,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ImplementationSpecificError: 0x83,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerBusy: 0x89,
  ServerShuttingDown: 0x8b,
  TopicNameInvalid: 0x90,
  ReceiveMaximumExceeded: 0x93,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  PayloadFormatInvalid: 0x99,
  MaximumConnectTime: 0xa0,
} as const;

export type ReasonCodeValue = (typeof ReasonCode)[keyof typeof ReasonCode];
