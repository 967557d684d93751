// Real processes for the fault tests: a Kafka node the test may stop, freeze and restart, proxies
// run through bin/mqtt-kafka-proxy (killable, RSS measurable), and HAProxy in front of them.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled to dist/test/helpers/, so the repository root is three levels up.
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const KAFKA_DEV = path.join(ROOT, 'scripts', 'kafka-dev');
const BIN = path.join(ROOT, 'bin', 'mqtt-kafka-proxy');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A single Kafka node of the test's own, on a port the test chose. */
export class KafkaNode {
  readonly bootstrap: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(port: number, dataDir: string) {
    this.bootstrap = `127.0.0.1:${port}`;
    this.env = { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(port + 1), KAFKA_DATA_DIR: dataDir };
  }

  private run(args: string[], timeout = 180_000): string {
    return execFileSync(KAFKA_DEV, args, { env: this.env, stdio: ['ignore', 'pipe', 'inherit'], timeout }).toString();
  }

  /**
   * Runs scripts/kafka-dev without blocking the event loop: the simulated devices and the test's
   * samplers live in this process and must keep running while Kafka starts or stops (seconds).
   */
  private runAsync(args: string[], timeoutMs = 180_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(KAFKA_DEV, args, { env: this.env, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        out += chunk;
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`kafka-dev ${args.join(' ')}: no result after ${timeoutMs} ms`));
      }, timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve(out);
        else reject(new Error(`kafka-dev ${args.join(' ')} failed (${signal ?? `exit code ${code}`}): ${out.slice(-1000)}`));
      });
    });
  }

  /** Starts the node and resolves once it serves; resolves at once when it is running. */
  async start(): Promise<void> {
    await this.runAsync(['start']);
  }

  /** Stops the node and resolves once its process is gone. */
  async stop(): Promise<void> {
    await this.runAsync(['stop']);
  }

  clean(): void {
    try {
      this.run(['stop', '--clean']);
    } catch {
      // best effort at the end of a run
    }
  }

  pid(): number {
    return Number(this.run(['pid']).trim());
  }

  /** SIGSTOP: the broker keeps its sockets open and answers nothing. */
  freeze(): void {
    process.kill(this.pid(), 'SIGSTOP');
  }

  thaw(): void {
    process.kill(this.pid(), 'SIGCONT');
  }
}

/** A free TCP port on the loopback interface (bound briefly, then released). */
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

export interface ProxyProcessOptions {
  /** Config file body; the listener is set to 127.0.0.1:port. */
  readonly yaml: string;
  readonly port: number;
  readonly brokers: string;
  readonly name?: string;
  /** Runs the proxy with the V8 inspector on an ephemeral loopback port (see {@link ProxyProcess.inspectorUrl}). */
  readonly inspect?: boolean;
}

/** bin/mqtt-kafka-proxy as a child process, its JSON log lines collected. */
export class ProxyProcess {
  readonly logs: Array<Record<string, unknown>> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private readonly dir: string;
  private stderr = '';

  private constructor(readonly options: ProxyProcessOptions) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'mkp-faults-proxy-'));
    const file = path.join(this.dir, 'proxy.yaml');
    writeFileSync(file, `listeners:\n  - { protocol: tcp, host: 127.0.0.1, port: ${options.port} }\n${options.yaml}`);
    const nodeFlags = options.inspect === true ? ['--inspect=127.0.0.1:0'] : [];
    this.child = spawn(process.execPath, [...nodeFlags, BIN, '--config', file, '--kafka-brokers', options.brokers], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        MKP_LOG_LEVEL: process.env.MKP_LOG_LEVEL ?? 'info',
        ...(process.env.TEST_KAFKA_CLIENT ? { MKP_KAFKA_CLIENT: process.env.TEST_KAFKA_CLIENT } : {}),
      },
    });
    let partial = '';
    this.child.stdout!.setEncoding('utf8');
    const tee = process.env.FAULTS_PROXY_LOG;
    this.child.stdout!.on('data', (chunk: string) => {
      if (tee) appendFileSync(`${tee}.${options.port}`, chunk);
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (line.trim() === '') continue;
        try {
          this.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.logs.push({ msg: line });
        }
      }
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Starts a proxy and waits until it listens and is connected to Kafka. */
  static async start(options: ProxyProcessOptions, { waitForKafka = true }: { waitForKafka?: boolean } = {}): Promise<ProxyProcess> {
    const proxy = new ProxyProcess(options);
    await proxy.waitForLog((l) => l.msg === 'listening', 20_000, 'listening');
    if (waitForKafka) await proxy.waitForLog((l) => l.msg === 'connected to Kafka', 60_000, 'connected to Kafka');
    return proxy;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The inspector's WebSocket URL of a proxy started with `inspect`, as Node printed it. */
  inspectorUrl(): string {
    const match = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]+)/.exec(this.stderr);
    if (match === null) throw new Error(`no inspector URL on the proxy's stderr: ${this.stderr.slice(-500)}`);
    return match[1]!;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resident set size in bytes (VmRSS). */
  rss(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    if (match === null) throw new Error('no VmRSS');
    return Number(match[1]) * 1024;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }

  async waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.logs.some(match)) {
      if (!this.alive) throw new Error(`proxy exited while waiting for ${what}: ${this.stderr.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`proxy: timed out waiting for ${what}`);
      await sleep(50);
    }
  }

  /** SIGKILL if still running, then removes its config. */
  async dispose(): Promise<void> {
    this.kill('SIGKILL');
    await this.exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** HAProxy in TCP mode on one port, round-robin over the given backends, health-checked fast. */
export class HaProxy {
  private readonly child: ChildProcess;
  private readonly dir: string;
  readonly exited: Promise<unknown>;

  constructor(readonly port: number, backends: readonly number[]) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'mkp-faults-haproxy-'));
    const file = path.join(this.dir, 'haproxy.cfg');
    writeFileSync(
      file,
      [
        'global',
        '  maxconn 2000',
        'defaults',
        '  mode tcp',
        '  timeout connect 1s',
        '  timeout client 60s',
        '  timeout server 60s',
        // A connection refused by a dead replica is redispatched to another one.
        '  retries 3',
        '  option redispatch',
        'frontend mqtt',
        `  bind 127.0.0.1:${port}`,
        '  default_backend proxies',
        'backend proxies',
        '  balance roundrobin',
        ...backends.map((p, i) => `  server p${i} 127.0.0.1:${p} check inter 500 fall 1 rise 2`),
        '',
      ].join('\n'),
    );
    this.child = spawn('haproxy', ['-f', file, '-db'], { stdio: ['ignore', 'ignore', 'inherit'] });
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
  }

  async ready(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`haproxy exited with code ${this.child.exitCode}`);
      const open = await new Promise<boolean>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port: this.port }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
      if (open) return;
      await sleep(100);
    }
    throw new Error('haproxy did not listen');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    await this.exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
