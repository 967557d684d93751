import type { MqttEngine } from '../mqtt/engine.js';

/** What delivery needs of the MQTT engine. */
export type DeliveryEngine = Pick<MqttEngine, 'deliver' | 'queuedFor' | 'disconnect'>;

/** What persistent sessions need of it besides. */
export type SessionEngine = DeliveryEngine & Pick<MqttEngine, 'restoreOutbound' | 'outboundOf' | 'inboundQoS2Of' | 'cancelWill'>;
