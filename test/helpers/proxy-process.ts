// The proxy as a child process (bin/mqtt-kafka-proxy with a config file), for tests that must see
// whether it survived an attack, or measure its own CPU time apart from the test's.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findLog, spawnCli, waitUntil, type CliProcess } from './cli.js';
import { testBrokers } from './kafka.js';

export interface ProxyProcess {
  readonly port: number;
  readonly run: CliProcess;
  readonly pid: number;
  isAlive(): boolean;
  /** Why it is not alive any more, with the end of its output. */
  deathReport(): string;
  /** CPU time (user + system) the process has used so far, in milliseconds (Linux /proc). */
  cpuMs(): number;
  stop(): Promise<void>;
}

/**
 * Starts the proxy on an ephemeral port with `yaml` (mappings, limits...; listeners, Kafka and the
 * admin port are filled in) and waits until it listens and is connected to Kafka.
 */
export async function startProxyProcess(yaml: string, { brokers = testBrokers() }: { brokers?: readonly string[] } = {}): Promise<ProxyProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'mkp-proxy-process-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    `listeners:
  - { protocol: tcp, host: 127.0.0.1, port: 0 }
kafka:
  brokers: [${brokers.map((b) => `'${b}'`).join(', ')}]
http: { port: 0 }
${yaml}`,
  );
  const run = spawnCli(['--config', file]);
  const stop = async (): Promise<void> => {
    if (run.isRunning()) run.child.kill('SIGKILL');
    await run.exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(() => findLog(run, 'listening') !== undefined && findLog(run, 'connected to Kafka') !== undefined, 'proxy listening and connected to Kafka', 30000, run);
  } catch (error) {
    await stop();
    throw error;
  }
  const pid = run.child.pid!;
  return {
    port: findLog(run, 'listening')!.port as number,
    run,
    pid,
    isAlive: () => run.isRunning(),
    deathReport: () => `proxy process exited (code ${run.child.exitCode}, signal ${run.child.signalCode})\n${run.stdoutTail(20)}\n${run.stderr().slice(-4000)}`,
    cpuMs: () => {
      // Fields 14 and 15 of /proc/PID/stat (utime, stime) in clock ticks, after the command in parentheses.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
    },
    stop,
  };
}
