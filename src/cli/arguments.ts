/** The command line as yargs reads it: commands, flags and --help. */
import yargs, { type Argv } from 'yargs';
import { LOG_LEVELS } from '../config/log.js';

/** A flag or MKP_* variable the CLI cannot use; exit code 2, like other command-line tools. */
export class UsageError extends Error {}

/** What yargs hands back, read without trusting its types (every value is checked below). */
export interface RawArguments {
  readonly _: ReadonlyArray<string | number>;
  readonly config?: string;
  readonly kafkaBrokers?: string;
  readonly kafkaClient?: string;
  readonly port?: string;
  readonly httpPort?: string;
  readonly logLevel?: string;
  readonly logPretty?: boolean;
  readonly workers?: string;
  readonly json?: boolean;
  readonly topic?: string;
  readonly clientId?: string;
  readonly username?: string;
  /** `map --kafka`: the delivery direction. */
  readonly kafka?: string;
  readonly key?: string;
  readonly header?: readonly string[];
  readonly partition?: number;
}

function commonOptions<T>(args: Argv<T>) {
  return args
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
    .option('kafka-client', {
      type: 'string',
      describe: 'Kafka client library: platformatic (@platformatic/kafka, the only one); replaces kafka.client (env MKP_KAFKA_CLIENT)',
      defaultDescription: 'kafka.client, else platformatic',
    })
    .option('port', {
      type: 'string',
      describe: 'Port of the first listener; replaces listeners[0].port (env MKP_PORT)',
      defaultDescription: 'listeners[0].port, else 1883',
    })
    .option('http-port', {
      type: 'string',
      describe: 'Port of the admin HTTP server (/metrics, /healthz, /readyz), 0 for none; replaces http.port (env MKP_HTTP_PORT)',
      defaultDescription: 'http.port, else 9090',
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
    });
}

export function parseArguments(argv: readonly string[]): RawArguments {
  const parser = commonOptions(yargs([...argv]))
    .scriptName('mqtt-kafka-proxy')
    .usage(
      '$0 [command] --config FILE\n$0 passwd < PASSWORD   (prints a password hash for the users file)\n\n' +
        'MQTT 3.1.1 and 5 server that writes every PUBLISH to Apache Kafka.',
    )
    .command('$0', 'Run the proxy until SIGTERM or SIGINT; SIGHUP reloads the config', (args) =>
      args.option('log-pretty', {
        type: 'boolean',
        describe: 'Human-readable log lines instead of JSON (env MKP_LOG_PRETTY=true)',
        defaultDescription: 'false',
      }),
    )
    .command('check', 'Validate the config and print it with defaults filled in, secrets masked (exit 0 or 1)', (args) =>
      args.option('json', { type: 'boolean', describe: 'Print JSON instead of YAML', default: false }),
    )
    .command('topics', 'Print the kafka-topics commands that create the topics the config names (exit 0 or 1)')
    .command(
      'map [topic]',
      'Where a PUBLISH to TOPIC goes, or with --kafka how a record is delivered (exit 0 or 3)',
      (args) =>
        args
          .positional('topic', { type: 'string', describe: 'MQTT topic as a device would publish it' })
          .option('client-id', { type: 'string', describe: 'MQTT client id for ${clientId}', default: '' })
          .option('username', { type: 'string', describe: 'MQTT username for ${username}' })
          .option('kafka', { type: 'string', describe: 'Kafka topic of a record to deliver (instead of TOPIC)' })
          .option('key', { type: 'string', describe: "the record's key (with --kafka); absent: a record without a key" })
          .option('header', { type: 'string', array: true, describe: 'a record header name=value (with --kafka; repeatable)' })
          .option('partition', { type: 'number', describe: "the record's partition (with --kafka)", default: 0 })
          .option('json', { type: 'boolean', describe: 'Print JSON instead of text', default: false }),
    )
    .strict()
    .fail((message, error) => {
      throw new UsageError(message ?? error.message);
    })
    .help()
    .alias('help', 'h')
    .version()
    .epilogue(
      'Flags win over MKP_* variables, which win over the file. Every configuration key and its default: README.md, "Configuration reference".',
    )
    .wrap(Math.min(120, process.stdout.columns || 120));
  return parser.parseSync() as unknown as RawArguments;
}
