// A 3-broker Kafka cluster of the test's own (scripts/kafka-dev with KAFKA_NODES), run without
// blocking this process: devices and readers in it keep going while brokers stop and start.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './processes.js';

const KAFKA_DEV = path.join(ROOT, 'scripts', 'kafka-dev');

export class KafkaCluster {
  readonly bootstrap: string;
  readonly brokers: readonly string[];

  constructor(
    readonly port: number,
    private readonly dataDir: string,
    readonly nodes = 3,
  ) {
    this.brokers = Array.from({ length: nodes }, (_, i) => `127.0.0.1:${port + 2 * i}`);
    this.bootstrap = this.brokers.join(',');
  }

  /** The cluster's configuration for scripts/kafka-dev (KAFKA_NODE when one broker is meant). */
  private env(node?: number): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_NODES: String(this.nodes), KAFKA_PORT: String(this.port), KAFKA_DATA_DIR: this.dataDir };
    delete env.KAFKA_CONTROLLER_PORT;
    delete env.KAFKA_NODE;
    if (node !== undefined) env.KAFKA_NODE = String(node);
    return env;
  }

  /** Runs scripts/kafka-dev; resolves with its stdout, rejects with the end of its output. */
  run(args: readonly string[], { node, timeoutMs = 240_000 }: { node?: number; timeoutMs?: number } = {}): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(KAFKA_DEV, [...args], { env: this.env(node), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
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
        else reject(new Error(`kafka-dev ${args.join(' ')} failed (${signal ?? `exit code ${code}`}): ${(err + out).slice(-2000)}`));
      });
    });
  }

  start(): Promise<string> {
    return this.run(['start']);
  }

  startNode(node: number): Promise<string> {
    return this.run(['start'], { node });
  }

  stopNode(node: number): Promise<string> {
    return this.run(['stop'], { node });
  }

  async clean(): Promise<void> {
    await this.run(['stop', '--clean']).catch(() => undefined);
  }

  /** A Kafka command-line tool against the cluster (`--bootstrap-server` is added). */
  tool(name: string, args: readonly string[]): Promise<string> {
    return this.run(['tool', name, '--bootstrap-server', this.bootstrap, ...args]);
  }
}
