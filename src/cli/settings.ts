/** What the CLI runs with: the command, the config file and the overrides, from flags or MKP_* variables. */
import { KAFKA_CLIENTS, retiredKafkaClient } from '../config/kafka.js';
import { LOG_LEVELS } from '../config/log.js';
import type { ConfigOverrides, LogLevel } from '../config/types.js';
import { UsageError, type RawArguments } from './arguments.js';

export interface CliSettings {
  readonly command: 'run' | 'check' | 'map' | 'topics';
  readonly configFile: string;
  readonly overrides: ConfigOverrides;
  readonly logPretty: boolean;
  /** Processes sharing the listeners (`--workers`). */
  readonly workers: number;
}

/**
 * Flags, else MKP_* variables. Read by hand rather than with yargs' env support, which would turn
 * every unrelated MKP_* variable (MKP_CACHE_DIR...) into an unknown option.
 */
export function settingsFrom(args: RawArguments, env: NodeJS.ProcessEnv): CliSettings {
  const pick = (flag: string, value: string | undefined, variable: string) =>
    value !== undefined ? { value, source: `--${flag}` } : env[variable] !== undefined ? { value: env[variable]!, source: variable } : undefined;

  const config = pick('config', args.config, 'MKP_CONFIG');
  const brokers = pick('kafka-brokers', args.kafkaBrokers, 'MKP_KAFKA_BROKERS');
  const kafkaClient = pick('kafka-client', args.kafkaClient, 'MKP_KAFKA_CLIENT');
  const port = pick('port', args.port, 'MKP_PORT');
  const httpPort = pick('http-port', args.httpPort, 'MKP_HTTP_PORT');
  const logLevel = pick('log-level', args.logLevel, 'MKP_LOG_LEVEL');
  const workers = pick('workers', args.workers, 'MKP_WORKERS');

  let kafkaBrokers: string[] | undefined;
  if (brokers !== undefined) {
    kafkaBrokers = brokers.value.split(',').map((b) => b.trim()).filter((b) => b.length > 0);
    if (kafkaBrokers.length === 0) throw new UsageError(`${brokers.source}: expected host:port[,host:port...], got "${brokers.value}"`);
  }
  const portNumber = port === undefined ? undefined : portFrom(port);
  const httpPortNumber = httpPort === undefined ? undefined : portFrom(httpPort);
  const retiredClient = kafkaClient === undefined ? null : retiredKafkaClient(kafkaClient.value);
  if (kafkaClient !== undefined && retiredClient !== null) throw new UsageError(`${kafkaClient.source}: ${retiredClient}`);
  if (kafkaClient !== undefined && !(KAFKA_CLIENTS as readonly string[]).includes(kafkaClient.value)) {
    throw new UsageError(`${kafkaClient.source}: expected one of ${KAFKA_CLIENTS.join(', ')}, got "${kafkaClient.value}"`);
  }
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel.value)) {
    throw new UsageError(`${logLevel.source}: expected one of ${LOG_LEVELS.join(', ')}, got "${logLevel.value}"`);
  }
  let workerCount = 1;
  if (workers !== undefined) {
    workerCount = /^\d+$/.test(workers.value.trim()) ? Number(workers.value) : Number.NaN;
    if (!Number.isInteger(workerCount) || workerCount < 1 || workerCount > 256) {
      throw new UsageError(`${workers.source}: expected a number of processes from 1 to 256, got "${workers.value}"`);
    }
  }
  let logPretty = args.logPretty ?? false;
  if (args.logPretty === undefined && env['MKP_LOG_PRETTY'] !== undefined) {
    const value = env['MKP_LOG_PRETTY'].trim().toLowerCase();
    if (!['true', 'false', '1', '0'].includes(value)) {
      throw new UsageError(`MKP_LOG_PRETTY: expected true or false, got "${env['MKP_LOG_PRETTY']}"`);
    }
    logPretty = value === 'true' || value === '1';
  }
  const name = args._[0];
  const command = name === 'check' || name === 'map' || name === 'topics' ? name : 'run';
  return {
    command,
    workers: workerCount,
    configFile: config?.value ?? 'topic-mappings.yaml',
    logPretty,
    overrides: {
      ...(kafkaBrokers !== undefined && { kafkaBrokers }),
      ...(kafkaClient !== undefined && { kafkaClient: kafkaClient.value }),
      ...(portNumber !== undefined && { port: portNumber }),
      ...(httpPortNumber !== undefined && { httpPort: httpPortNumber }),
      ...(logLevel !== undefined && { logLevel: logLevel.value as LogLevel }),
    },
  };
}

/** A port number from a flag or variable, 0 included. */
function portFrom({ value, source }: { readonly value: string; readonly source: string }): number {
  const port = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isInteger(port) || port > 65535) throw new UsageError(`${source}: expected a port number from 0 to 65535, got "${value}"`);
  return port;
}
