import type { MqttEngine } from '../mqtt/engine.js';

/** What delivery needs of the MQTT engine. */
export type DeliveryEngine = Pick<MqttEngine, 'deliver' | 'queuedFor' | 'disconnect'>;
