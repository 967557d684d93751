import cluster from 'node:cluster';
import yargs from 'yargs';
import { ConfigError } from './config/errors.js';
import { LOG_LEVELS, loadConfig } from './config/load.js';
import type { ConfigOverrides, LogLevel, ProxyConfig } from './config/types.js';
import { startStatsReporter } from './observability/stats-reporter.js';
import { createProxy } from './server.js';
import { runPrimary, workerId } from './workers.js';

const primaryLog = {
  info: (message: string) => process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), service: 'mqtt-kafka-proxy', msg: message })}\n`),
  error: (message: string) => process.stdout.write(`${JSON.stringify({ level: 50, time: Date.now(), service: 'mqtt-kafka-proxy', msg: message })}\n`),
};

/** Worker N of --workers serves the admin HTTP server on http.port + N - 1, so each worker can be scraped. */
function withWorkerPorts(config: ProxyConfig): ProxyConfig {
  const id = workerId();
  if (id === undefined || id === 1 || config.http.port === 0) return config;
  return { ...config, http: { ...config.http, port: config.http.port + id - 1 } };
}

/** A flag or MKP_* variable the CLI cannot use; exit code 2, like other command-line tools. */
class UsageError extends Error {}

function parseArguments(argv: readonly string[]) {
  return yargs([...argv])
    .scriptName('mqtt-kafka-proxy')
    .usage('$0 --config FILE\n\nMQTT 3.1.1 and 5 server that writes every PUBLISH to Apache Kafka.')
    .option('config', {
      alias: 'c',
      type: 'string',
      describe: 'YAML configuration file (env MKP_CONFIG)',
      defaultDescription: 'topic-mappings.yaml',
    })
    .option('kafka-brokers', {
      type: 'string',
      describe: 'Kafka bootstrap brokers, comma-separated; replaces kafka.brokers (env MKP_KAFKA_BROKERS)',
      defaultDescription: 'kafka.brokers, else 127.0.0.1:9092',
    })
    .option('port', {
      type: 'string',
      describe: 'Port of the first listener; replaces listeners[0].port (env MKP_PORT)',
      defaultDescription: 'listeners[0].port, else 1883',
    })
    .option('workers', {
      type: 'string',
      describe: 'Processes sharing the listeners (node:cluster), each a full proxy (env MKP_WORKERS)',
      defaultDescription: '1',
    })
    .option('log-level', {
      type: 'string',
      describe: `Log level: ${LOG_LEVELS.join(', ')}; replaces log.level (env MKP_LOG_LEVEL)`,
      defaultDescription: 'log.level, else info',
    })
    .strict()
    .fail((message, error) => {
      throw new UsageError(message ?? error.message);
    })
    .help()
    .alias('help', 'h')
    .version()
    .epilogue('Flags win over MKP_* variables, which win over the file. Every configuration key and its default: README.md, "Configuration reference".')
    .wrap(Math.min(120, process.stdout.columns || 120))
    .parseSync();
}

interface CliSettings {
  readonly configFile: string;
  readonly overrides: ConfigOverrides;
  readonly workers: number;
}

/**
 * Flags, else MKP_* variables. Read by hand rather than with yargs' env support, which would turn
 * every unrelated MKP_* variable (MKP_CACHE_DIR...) into an unknown option.
 */
function settingsFrom(args: ReturnType<typeof parseArguments>, env: NodeJS.ProcessEnv): CliSettings {
  const pick = (flag: string, value: string | undefined, variable: string) =>
    value !== undefined ? { value, source: `--${flag}` } : env[variable] !== undefined ? { value: env[variable]!, source: variable } : undefined;

  const config = pick('config', args.config, 'MKP_CONFIG');
  const brokers = pick('kafka-brokers', args.kafkaBrokers, 'MKP_KAFKA_BROKERS');
  const port = pick('port', args.port, 'MKP_PORT');
  const logLevel = pick('log-level', args.logLevel, 'MKP_LOG_LEVEL');
  const workers = pick('workers', args.workers, 'MKP_WORKERS');

  let kafkaBrokers: string[] | undefined;
  if (brokers !== undefined) {
    kafkaBrokers = brokers.value.split(',').map((b) => b.trim()).filter((b) => b.length > 0);
    if (kafkaBrokers.length === 0) throw new UsageError(`${brokers.source}: expected host:port[,host:port...], got "${brokers.value}"`);
  }
  let portNumber: number | undefined;
  if (port !== undefined) {
    portNumber = /^\d+$/.test(port.value.trim()) ? Number(port.value) : Number.NaN;
    if (!Number.isInteger(portNumber) || portNumber > 65535) {
      throw new UsageError(`${port.source}: expected a port number from 0 to 65535, got "${port.value}"`);
    }
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
  return {
    workers: workerCount,
    configFile: config?.value ?? 'topic-mappings.yaml',
    overrides: {
      ...(kafkaBrokers !== undefined && { kafkaBrokers }),
      ...(portNumber !== undefined && { port: portNumber }),
      ...(logLevel !== undefined && { logLevel: logLevel.value as LogLevel }),
    },
  };
}

/** Runs the proxy until SIGINT or SIGTERM. Resolves to the process exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let settings: CliSettings;
  try {
    settings = settingsFrom(parseArguments(argv), env);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`mqtt-kafka-proxy: ${error.message}\nRun mqtt-kafka-proxy --help for the options.\n`);
      return 2;
    }
    throw error;
  }

  let proxy;
  try {
    const config = loadConfig(settings.configFile, settings.overrides);
    // Checked once here, so a bad file is one error, not one per worker.
    if (settings.workers > 1 && cluster.isPrimary) return await runPrimary(settings.workers, primaryLog);
    proxy = createProxy(withWorkerPorts(config));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`mqtt-kafka-proxy: invalid configuration\n${error.message}\n`);
      return 1;
    }
    throw error;
  }

  startStatsReporter(env, () => ({ kafkaSent: proxy.kafkaSent }));
  try {
    await proxy.start();
  } catch (error) {
    proxy.logger.fatal({ err: (error as Error).message }, 'cannot start');
    return 1;
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        proxy.logger.warn({ signal }, 'second signal: exiting without waiting for Kafka');
        resolve(1);
        return;
      }
      stopping = true;
      proxy.logger.info({ signal }, 'signal received, draining');
      proxy.stop().then(
        () => resolve(0),
        (error: unknown) => {
          proxy.logger.error({ err: (error as Error).message }, 'error while stopping');
          resolve(1);
        },
      );
    };
    // Under --workers the primary turns SIGINT (sent to the whole process group) into one SIGTERM.
    process.on('SIGINT', workerId() === undefined ? stop : () => undefined);
    process.on('SIGTERM', stop);
  });
}
