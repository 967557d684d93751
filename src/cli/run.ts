/** Running the proxy from the command line: signals, drain watchdog, --workers. */
import cluster from 'node:cluster';
import type { ProxyConfig } from '../config/types.js';
import { createLogger } from '../observability/logger.js';
import { startStatsReporter } from '../observability/stats-reporter.js';
import { createProxy } from '../server/create-proxy.js';
import { loadConfig } from '../server/load-config.js';
import { runPrimary, workerId } from '../workers.js';
import { EXIT } from './exit-codes.js';
import type { CliSettings } from './settings.js';

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

/**
 * How long past drain.delayMs + drain.timeoutMs the CLI waits for the drain before it gives up and
 * exits 1. Orchestrators must allow at least this much (terminationGracePeriodSeconds).
 */
export const DRAIN_WATCHDOG_SLACK_MS = 5000;

/** Runs the proxy until SIGINT or SIGTERM; SIGHUP reloads the configuration file. */
export async function run(settings: CliSettings, config: ProxyConfig): Promise<number> {
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
  try {
    await proxy.start();
  } catch (error) {
    proxy.logger.fatal({ err: (error as Error).message }, 'cannot start');
    process.off('SIGHUP', reload);
    return EXIT.failure;
  }

  return new Promise<number>((resolve) => {
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
    process.on('SIGINT', workerId() === undefined ? stop : () => undefined);
    process.on('SIGTERM', stop);
  });
}
