/**
 * The MQTT 5 properties each packet a client sends may carry (MQTT 5.0 section 2.2.2.2): one of
 * another packet's makes it malformed. mqtt-packet reads any known property in any packet.
 */
const ALLOWED = {
  connect: new Set([
    'sessionExpiryInterval',
    'receiveMaximum',
    'maximumPacketSize',
    'topicAliasMaximum',
    'requestResponseInformation',
    'requestProblemInformation',
    'userProperties',
    'authenticationMethod',
    'authenticationData',
  ]),
  will: new Set(['willDelayInterval', 'payloadFormatIndicator', 'messageExpiryInterval', 'contentType', 'responseTopic', 'correlationData', 'userProperties']),
  publish: new Set(['payloadFormatIndicator', 'messageExpiryInterval', 'topicAlias', 'responseTopic', 'correlationData', 'userProperties', 'subscriptionIdentifier', 'contentType']),
  ack: new Set(['reasonString', 'userProperties']),
  disconnect: new Set(['sessionExpiryInterval', 'reasonString', 'userProperties', 'serverReference']),
} as const;

export type PropertyPlace = keyof typeof ALLOWED;

/** The first property that does not belong in `place`, if any. */
export function foreignProperty(properties: object | undefined, place: PropertyPlace): string | undefined {
  if (properties === undefined) return undefined;
  const allowed: ReadonlySet<string> = ALLOWED[place];
  for (const name in properties) {
    if (!allowed.has(name) && (properties as Record<string, unknown>)[name] !== undefined) return name;
  }
  return undefined;
}
