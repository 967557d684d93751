import yargs from 'yargs';
import { ConfigError } from './config/errors.js';
import { loadConfig } from './config/load.js';
import type { ConfigOverrides, LogLevel } from './config/types.js';
import { createProxy } from './server.js';

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function parseArguments(argv: readonly string[]) {
  return yargs([...argv])
    .scriptName('mqtt-kafka-proxy')
    .usage('$0 --config FILE\n\nMQTT 3.1.1 and 5 server that writes every PUBLISH to Apache Kafka.')
    .env('MKP')
    .option('config', {
      alias: 'c',
      type: 'string',
      default: 'topic-mappings.yaml',
      describe: 'YAML configuration file (env MKP_CONFIG)',
    })
    .option('kafka-brokers', {
      type: 'string',
      describe: 'Kafka bootstrap brokers, comma-separated; replaces kafka.brokers (env MKP_KAFKA_BROKERS)',
      defaultDescription: 'kafka.brokers, else 127.0.0.1:9092',
    })
    .option('port', {
      type: 'number',
      describe: 'Port of the first listener; replaces listeners[0].port (env MKP_PORT)',
      defaultDescription: 'listeners[0].port, else 1883',
    })
    .option('log-level', {
      type: 'string',
      choices: LOG_LEVELS,
      describe: 'Log level; replaces log.level (env MKP_LOG_LEVEL)',
      defaultDescription: 'log.level, else info',
    })
    .strict()
    .help()
    .alias('help', 'h')
    .version()
    .epilogue('Every configuration key and its default: see README.md, "Configuration reference".')
    .wrap(Math.min(120, process.stdout.columns || 120))
    .parseSync();
}

/** Runs the proxy until SIGINT or SIGTERM. Resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const args = parseArguments(argv);
  const overrides: ConfigOverrides = {
    ...(args.kafkaBrokers !== undefined && {
      kafkaBrokers: args.kafkaBrokers.split(',').map((b) => b.trim()).filter((b) => b.length > 0),
    }),
    ...(args.port !== undefined && { port: args.port }),
    ...(args.logLevel !== undefined && { logLevel: args.logLevel as LogLevel }),
  };

  let proxy;
  try {
    proxy = createProxy(loadConfig(args.config, overrides));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`mqtt-kafka-proxy: invalid configuration\n${error.message}\n`);
      return 1;
    }
    throw error;
  }

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
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
