/** Pure topic mapping: compile rules once, route each PUBLISH to a Kafka topic and key. No I/O. */
export type { Route, RouteInput, RouteRejection, RouteResult } from './types.js';
export { compileRouter, rulePath, UNMAPPED_RULE_NAME, type Router, type RouterConfig } from './router.js';
export {
  BUILTIN_TEMPLATE_NAMES,
  compileTemplate,
  regexGroups,
  TemplateError,
  type BuiltinTemplateName,
  type CompiledTemplate,
  type RegexGroups,
  type TemplatePart,
} from './template.js';
export { isLegalKafkaTopic, kafkaTopicProblem, MAX_KAFKA_TOPIC_LENGTH } from '../common/kafka-topic.js';
export type { DeliveryInput, DeliveryProperties, DeliveryRejection, DeliveryResult, DeliveryRoute } from './types.js';
export { compileDeliveryRouter, type DeliveryRouter } from './delivery-router.js';
export { DeliveryHeader } from './delivery-headers.js';
