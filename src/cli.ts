/** The command line: `mqtt-kafka-proxy [check | map TOPIC | map --kafka TOPIC | passwd] --config FILE`. */
import { ConfigError } from './config/errors.js';
import { topicCommandsText } from './cli/topics.js';
import type { ProxyConfig } from './config/types.js';
import { describeDelivery, describeRoute, effectiveConfigText } from './cli-tools.js';
import { parseArguments, UsageError, type RawArguments } from './cli/arguments.js';
import { EXIT } from './cli/exit-codes.js';
import { mapRequestFrom, type MapRequest } from './cli/map-request.js';
import { passwd } from './cli/passwd.js';
import { run } from './cli/run.js';
import { settingsFrom, type CliSettings } from './cli/settings.js';
import { compileDeliveryRouter } from './mapping/delivery-router.js';
import { loadConfig, routerFor } from './server/load-config.js';

export { DRAIN_WATCHDOG_SLACK_MS } from './cli/run.js';
export { EXIT };

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
  let mapRequest: MapRequest | undefined;
  try {
    args = parseArguments(argv);
    settings = settingsFrom(args, env);
    if (settings.command === 'map') mapRequest = mapRequestFrom(args, Date.now());
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
    case 'map':
      return map(config, mapRequest!, args.json === true ? 'json' : 'text');
    case 'topics':
      process.stdout.write(topicCommandsText(config));
      return EXIT.ok;
    case 'run':
      return run(settings, config);
  }
}

/** `map`: where a PUBLISH would go, or how a Kafka record would be delivered. */
function map(config: ProxyConfig, request: MapRequest, format: 'text' | 'json'): number {
  if (request.direction === 'delivery') {
    const result = compileDeliveryRouter(config.delivery, config.source).route(request.input);
    process.stdout.write(describeDelivery(request.input, result, format));
    return result.ok ? EXIT.ok : EXIT.rejected;
  }
  const route = routerFor(config).route({ topic: request.topic, clientId: request.clientId, username: request.username });
  process.stdout.write(describeRoute(request.topic, route, format));
  return route.kind === 'mapped' ? EXIT.ok : EXIT.rejected;
}
