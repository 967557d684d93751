import cluster, { type Worker } from 'node:cluster';
import { MEMORY_SHARING_PROCESSES_ENV } from './config/memory.js';

/** Environment variable telling a worker its number, 1..N. */
export const WORKER_ID_ENV = 'MKP_WORKER_ID';

/** A worker that dies this soon after starting is not restarted (a crash loop, e.g. a port in use). */
const MIN_UPTIME_MS = 5000;

export interface SupervisorLog {
  info(message: string): void;
  error(message: string): void;
}

/** This process's worker number when it runs under `--workers`, else undefined. */
export function workerId(env: NodeJS.ProcessEnv = process.env): number | undefined {
  if (!cluster.isWorker) return undefined;
  const id = Number(env[WORKER_ID_ENV]);
  return Number.isInteger(id) && id > 0 ? id : undefined;
}

/**
 * The primary of `--workers N`: forks N copies of this program, each a full proxy; node:cluster
 * shares their listening sockets, so connections spread over the workers. A worker that dies is
 * started again (unless it died right after starting, which would only repeat). SIGTERM and SIGINT
 * are passed on and the primary exits once every worker has drained and exited (code 1 if any
 * failed); SIGHUP is passed on. Resolves to the exit code.
 */
export function runPrimary(count: number, log: SupervisorLog): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    let failed = false;
    const started = new Map<Worker, number>();

    const fork = (id: number): void => {
      // The worker count lets each worker take its share of the memory for its default in-flight bounds.
      const worker = cluster.fork({ [WORKER_ID_ENV]: String(id), [MEMORY_SHARING_PROCESSES_ENV]: String(count) });
      started.set(worker, Date.now());
      worker.on('exit', (code, signal) => {
        const uptime = Date.now() - (started.get(worker) ?? 0);
        started.delete(worker);
        if (code !== 0) failed = true;
        if (stopping) {
          if (started.size === 0) resolve(failed ? 1 : 0);
          return;
        }
        if (uptime < MIN_UPTIME_MS) {
          log.error(`worker ${id} exited (${signal ?? `code ${code}`}) ${uptime} ms after starting: stopping every worker`);
          stopAll('SIGTERM');
          return;
        }
        log.error(`worker ${id} exited (${signal ?? `code ${code}`}): starting it again`);
        fork(id);
      });
    };

    // Workers ignore SIGINT (a terminal sends it to the whole process group): they stop on the
    // SIGTERM passed on here, and a second one makes them exit at once, as a second signal does.
    const stopAll = (signal: NodeJS.Signals): void => {
      if (stopping) {
        for (const worker of started.keys()) worker.process.kill('SIGTERM');
        return;
      }
      stopping = true;
      if (started.size === 0) resolve(failed ? 1 : 0);
      log.info(`${signal} received: stopping every worker`);
      for (const worker of started.keys()) worker.process.kill('SIGTERM');
    };

    process.on('SIGTERM', () => stopAll('SIGTERM'));
    process.on('SIGINT', () => stopAll('SIGINT'));
    process.on('SIGHUP', () => {
      for (const worker of started.keys()) worker.process.kill('SIGHUP');
    });
    log.info(`starting ${count} workers`);
    for (let id = 1; id <= count; id++) fork(id);
  });
}
