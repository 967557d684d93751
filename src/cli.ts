import cluster from 'node:cluster';
import yargs, { type Argv } from 'yargs';
import { hashPassword } from './auth/password-hash.js';
import { ConfigError } from './config/errors.js';
import { KAFKA_CLIENTS, retiredKafkaClient } from './config/kafka-client.js';
import { LOG_LEVELS, loadConfig } from './config/load.js';
import type { ConfigOverrides, LogLevel, ProxyConfig } from './config/types.js';
import { describeRoute, effectiveConfigText } from './cli-tools.js';
import { compileRouter } from './mapping/router.js';
import { createLogger } from './observability/logger.js';
import { startStatsReporter } from './observability/stats-reporter.js';
import { createProxy, type Proxy } from './server.js';
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

/**
 * How long past drain.delayMs + drain.timeoutMs the CLI waits for the drain before it gives up and
 * exits 1. Orchestrators must allow at least this much (terminationGracePeriodSeconds).
 */
export const DRAIN_WATCHDOG_SLACK_MS = 5000;

/** Exit codes, as README.md documents them. */
export const EXIT = {
  ok: 0,
  /** Invalid configuration, or the proxy could not start (or stop cleanly). */
  failure: 1,
  usage: 2,
  /** `map`: the topic is rejected (no rule matches, or the rule renders a topic Kafka would refuse). */
  rejected: 3,
} as const;

/** What yargs hands back, read without trusting its types (every value is checked below). */
interface RawArguments {
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

function parseArguments(argv: readonly string[]): RawArguments {
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
    .command(
      'map <topic>',
      'Which rule TOPIC matches, its Kafka topic and key (exit 0 mapped, 3 rejected)',
      (args) =>
        args
          .positional('topic', { type: 'string', describe: 'MQTT topic as a device would publish it' })
          .option('client-id', { type: 'string', describe: 'MQTT client id for ${clientId}', default: '' })
          .option('username', { type: 'string', describe: 'MQTT username for ${username}' })
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

interface CliSettings {
  readonly command: 'run' | 'check' | 'map';
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
function settingsFrom(args: RawArguments, env: NodeJS.ProcessEnv): CliSettings {
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
  const command = name === 'check' ? 'check' : name === 'map' ? 'map' : 'run';
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

/** Loads the config, or says why not on stderr; undefined means exit 1. */
function loadOrReport(settings: CliSettings): ProxyConfig | undefined {
  try {
    return loadConfig(settings.configFile, settings.overrides);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`mqtt-kafka-proxy: invalid configuration\n${error.message}\n`);
      return undefined;
    }
    throw error;
  }
}

/**
 * `passwd`: reads a password from stdin (one line; the line break is not part of it) and prints
 * its hash for the users file.
 */
async function passwd(input: NodeJS.ReadStream, output: NodeJS.WritableStream): Promise<number> {
  if (input.isTTY) {
    process.stderr.write('Type the password, then Enter and Ctrl-D. It is shown as typed: pipe it in to avoid that.\n');
  }
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (password === '') {
    process.stderr.write('mqtt-kafka-proxy passwd: no password on stdin (usage: mqtt-kafka-proxy passwd < FILE, or echo it in)\n');
    return 2;
  }
  if (password.includes('\n')) {
    process.stderr.write('mqtt-kafka-proxy passwd: the password must be one line\n');
    return 2;
  }
  output.write(`${await hashPassword(password)}\n`);
  return 0;
}

/** Runs a command. Resolves to the process exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  // `passwd` reads stdin and needs no config: handled before the config-bound commands.
  if (argv[0] === 'passwd') {
    if (argv.length > 1) {
      process.stderr.write('mqtt-kafka-proxy passwd: takes no arguments; the password is read from stdin\n');
      return EXIT.usage;
    }
    return passwd(process.stdin, process.stdout);
  }
  let settings: CliSettings;
  let args: RawArguments;
  try {
    args = parseArguments(argv);
    settings = settingsFrom(args, env);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`mqtt-kafka-proxy: ${error.message}\nRun mqtt-kafka-proxy --help for the options.\n`);
      return EXIT.usage;
    }
    throw error;
  }

  const config = loadOrReport(settings);
  if (config === undefined) return EXIT.failure;

  switch (settings.command) {
    case 'check':
      process.stdout.write(effectiveConfigText(config, args.json === true ? 'json' : 'yaml'));
      return EXIT.ok;
    case 'map': {
      const route = compileRouter(config).route({ topic: args.topic ?? '', clientId: args.clientId ?? '', username: args.username });
      process.stdout.write(describeRoute(args.topic ?? '', route, args.json === true ? 'json' : 'text'));
      return route.kind === 'mapped' ? EXIT.ok : EXIT.rejected;
    }
    case 'run':
      return run(settings, config);
  }
}

/** Runs the proxy until SIGINT or SIGTERM; SIGHUP reloads the configuration file. */
async function run(settings: CliSettings, config: ProxyConfig): Promise<number> {
  // Checked once by the primary, so a bad file is one error, not one per worker.
  if (settings.workers > 1 && cluster.isPrimary) return runPrimary(settings.workers, primaryLog);
  const proxy = createProxy(withWorkerPorts(config), {
    logger: createLogger(config.log.level, { pretty: settings.logPretty }),
    loadConfig: () => loadConfig(settings.configFile, settings.overrides),
  });

  // Registered before starting: SIGHUP's default action would end the process.
  const reload = (): void => {
    proxy.logger.info({ signal: 'SIGHUP', file: settings.configFile }, 'signal received, reloading the configuration');
    void proxy.reload();
  };
  process.on('SIGHUP', reload);

  startStatsReporter(process.env, () => ({ kafkaSent: proxy.kafkaSent }));
  // Before starting: the listeners open before Kafka is connected, and a signal that comes in
  // between must drain, not end the process.
  const signals = stopOnSignals(proxy, reload);
  try {
    await proxy.start();
  } catch (error) {
    proxy.logger.fatal({ err: (error as Error).message }, 'cannot start');
    process.off('SIGHUP', reload);
    signals.remove();
    return EXIT.failure;
  }
  return signals.exitCode;
}

/** SIGTERM and SIGINT drain the proxy (a second one exits at once); `exitCode` is the process's. */
function stopOnSignals(proxy: Proxy, reload: () => void): { readonly exitCode: Promise<number>; remove(): void } {
  let onInt: (signal: NodeJS.Signals) => void = () => undefined;
  let onTerm: (signal: NodeJS.Signals) => void = () => undefined;
  const exitCode = new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        proxy.logger.warn({ signal }, 'second signal: exiting without waiting for Kafka');
        resolve(EXIT.failure);
        return;
      }
      stopping = true;
      process.off('SIGHUP', reload);
      // SIGTERM comes from an orchestrator: give load balancers drain.delayMs to notice /readyz.
      // SIGINT is a person at a terminal: no load balancer to wait for.
      const delayMs = signal === 'SIGTERM' ? undefined : 0;
      const { drain } = proxy.config;
      const bound = (delayMs ?? drain.delayMs) + drain.timeoutMs + DRAIN_WATCHDOG_SLACK_MS;
      const watchdog = setTimeout(() => {
        proxy.logger.error({ signal, boundMs: bound }, 'drain did not finish in time, exiting');
        resolve(EXIT.failure);
      }, bound);
      watchdog.unref();
      proxy.logger.info({ signal }, 'signal received, draining');
      proxy.stop(delayMs === undefined ? {} : { delayMs }).then(
        () => {
          clearTimeout(watchdog);
          resolve(EXIT.ok);
        },
        (error: unknown) => {
          clearTimeout(watchdog);
          proxy.logger.error({ err: (error as Error).message }, 'error while stopping');
          resolve(EXIT.failure);
        },
      );
    };
    // Under --workers the primary turns SIGINT (sent to the whole process group) into one SIGTERM.
    onInt = workerId() === undefined ? stop : () => undefined;
    onTerm = stop;
  });
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    exitCode,
    remove() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
