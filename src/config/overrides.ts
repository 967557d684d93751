/** Flags and MKP_* variables, applied over the file's sections and validated the same way. */
import { KAFKA_CLIENTS, readBrokers, type KafkaConfig } from './kafka.js';
import { HTTP_DEFAULTS, type HttpConfig } from './http.js';
import { LISTENER_DEFAULTS, type ListenerConfig } from './listeners.js';
import { readLogLevel, type LogConfig } from './log.js';
import { readOneOf, readPort, type Problems } from './readers.js';
import type { ConfigOverrides } from './types.js';

/** The sections overrides can replace values in. */
export interface OverridableSections {
  readonly listeners: readonly ListenerConfig[];
  readonly kafka: KafkaConfig;
  readonly http: HttpConfig;
  readonly log: LogConfig;
}

export function applyOverrides(sections: OverridableSections, overrides: ConfigOverrides | undefined, problems: Problems): OverridableSections {
  if (overrides === undefined) return sections;
  let { listeners, kafka, http, log } = sections;
  if (overrides.httpPort !== undefined) {
    http = { ...http, port: readPort(overrides.httpPort, 'overrides.httpPort', 0, problems, HTTP_DEFAULTS.port) };
  }
  if (overrides.kafkaBrokers !== undefined) {
    kafka = { ...kafka, brokers: readBrokers([...overrides.kafkaBrokers], 'overrides.kafkaBrokers', problems) };
  }
  if (overrides.port !== undefined) {
    const port = readPort(overrides.port, 'overrides.port', 0, problems, LISTENER_DEFAULTS.listener.port);
    listeners = listeners.map((listener, index) => (index === 0 ? { ...listener, port } : listener));
  }
  if (overrides.logLevel !== undefined) log = { level: readLogLevel(overrides.logLevel, 'overrides.logLevel', problems) };
  if (overrides.kafkaClient !== undefined) {
    kafka = { ...kafka, client: readOneOf(overrides.kafkaClient, 'overrides.kafkaClient', KAFKA_CLIENTS, problems, kafka.client) };
  }
  return { listeners, kafka, http, log };
}
