// Runs the real command line (`node bin/mqtt-kafka-proxy ...`) as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Compiled to dist/test/helpers/, so the repository root is three levels up. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'mqtt-kafka-proxy');

export type LogLine = Record<string, unknown>;
/** Variables for the child on top of ours; `undefined` leaves one out. */
export type Env = Record<string, string | undefined>;
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface CliProcess {
  readonly child: ChildProcess;
  /** Parsed JSON log lines from stdout so far (lines that are not JSON as `{ unparsed }`). */
  readonly logs: LogLine[];
  stdout(): string;
  /** The last log lines, for failure messages. */
  stdoutTail(lines?: number): string;
  stderr(): string;
  readonly exited: Promise<Exit>;
  isRunning(): boolean;
}

/** Our environment without MKP_* variables (the CLI reads them), plus `extra`. */
function childEnv(extra: Env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('MKP_')) env[name] = value;
  if (process.env.TEST_KAFKA_CLIENT) env.MKP_KAFKA_CLIENT = process.env.TEST_KAFKA_CLIENT;
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) env[name] = value;
  return env;
}

export function spawnCli(args: readonly string[], env: Env = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let pending = '';
  const logs: LogLine[] = [];
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.trim() === '') continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ unparsed: line });
      }
    }
  });
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))).then(async (exit) => {
    await closed;
    return exit;
  });
  return {
    child,
    logs,
    stdout: () => stdout,
    stdoutTail: (lines = 12) => {
      const all = stdout.trimEnd().split('\n');
      return `${all.length > lines ? `[${all.length - lines} earlier lines]\n` : ''}${all.slice(-lines).join('\n')}`;
    },
    stderr: () => stderr,
    exited,
    isRunning: () => child.exitCode === null && child.signalCode === null,
  };
}

/** Runs the CLI to completion (SIGKILL after `timeoutMs`). */
export async function runCli(args: readonly string[], env: Env = {}, timeoutMs = 15000) {
  const run = spawnCli(args, env);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
  const exit = await run.exited;
  clearTimeout(timer);
  return { ...exit, stdout: run.stdout(), stderr: run.stderr() };
}

export async function waitUntil(condition: () => boolean, what: string, timeoutMs: number, run?: CliProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (run !== undefined && !run.isRunning()) throw new Error(`the CLI exited while waiting for ${what}\n${run.stdout().slice(-3000)}\n${run.stderr()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${run ? `\n${run.stdout().slice(-3000)}\n${run.stderr()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The exit, or null when the CLI still runs after `timeoutMs`. */
export async function exitWithin(run: CliProcess, timeoutMs: number): Promise<Exit | null> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([run.exited, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)))]);
  clearTimeout(timer);
  return result;
}

/** A TCP port nobody listens on right now (for a child process's admin server). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export const findLog = (run: CliProcess, msg: string): LogLine | undefined => run.logs.find((l) => l.msg === msg);
