import type { Logger } from 'pino';
import { describeConnectFailure } from './security.js';

/** What the proxy knows about the cluster: not connected yet, answering, or not answering. */
export type ReachabilityState = 'connecting' | 'reachable' | 'unreachable';

export interface ReachabilityOptions {
  readonly brokers: readonly string[];
  /** Said on the first connection: whether TLS and which SASL mechanism are in use. */
  readonly security: { readonly tls: boolean; readonly sasl: string | null };
  readonly now?: () => number;
}

/**
 * Kafka's reachability as the proxy sees it, and its log: one line per change of state (first
 * connection, unreachable, reachable again), naming the brokers and the cause, never one per
 * retry. A misconfiguration (credentials, certificates) is an error line of its own, said again
 * only when the cause turns from one kind to the other.
 */
export class Reachability {
  private current: ReachabilityState = 'connecting';
  /** Until the first success: its line says "connected", later ones "reachable again". */
  private firstConnection = true;
  private misconfigured = false;
  private since: number;
  private readonly now: () => number;

  constructor(
    private readonly logger: Logger,
    private readonly options: ReachabilityOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.since = this.now();
  }

  get state(): ReachabilityState {
    return this.current;
  }

  /** An exchange with Kafka failed in a way that sending again may fix (a connection, a request). */
  failed(cause: unknown): void {
    const failure = describeConnectFailure(cause);
    const { brokers } = this.options;
    const changed = this.current !== 'unreachable' || failure.misconfigured !== this.misconfigured;
    if (changed) {
      if (failure.misconfigured) {
        // Bad credentials or certificates do not fix themselves, but a rotated secret on the Kafka
        // side can: the proxy keeps trying, and says so once at error level.
        this.logger.error({ brokers, ...this.options.security, err: failure.reason }, 'cannot connect to Kafka, retrying');
      } else if (this.current === 'reachable') {
        this.logger.warn({ brokers, err: failure.reason }, 'Kafka unreachable');
      } else if (this.current === 'connecting' || this.misconfigured) {
        this.logger.warn({ brokers, err: failure.reason }, 'Kafka not reachable, retrying');
      }
    }
    if (this.current !== 'unreachable') this.since = this.now();
    this.current = 'unreachable';
    this.misconfigured = failure.misconfigured;
  }

  /** An exchange with Kafka succeeded: a connection, a produce request or a cluster check. */
  succeeded(): void {
    if (this.current === 'reachable') return;
    const { brokers, security } = this.options;
    const unreachableMs = this.current === 'unreachable' ? this.now() - this.since : undefined;
    if (this.firstConnection) {
      this.logger.info({ brokers, ...security, ...(unreachableMs === undefined ? {} : { unreachableMs }) }, 'connected to Kafka');
    } else {
      this.logger.warn({ brokers, unreachableMs }, 'Kafka reachable again');
    }
    this.firstConnection = false;
    this.current = 'reachable';
    this.misconfigured = false;
    this.since = this.now();
  }
}
