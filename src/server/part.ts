/**
 * A part of the running proxy (the admin server, Kafka, auth, the MQTT ingest, the listeners, and
 * later delivery, state, HTTP ingest). compose.ts builds them and lists them in start order; the
 * lifecycle starts them in that order and stops them in the reverse one; readiness asks each; a
 * reload hands each the new config. A new part is one more entry in compose.ts.
 */
import type { ConfigChange } from '../config/reload-diff.js';
import type { ProxyConfig } from '../config/types.js';
import type { Readiness } from '../observability/admin-server.js';

export interface StopContext {
  /** Longest wait for work already taken in (records on their way to Kafka) before giving up on it. */
  readonly drainTimeoutMs: number;
}

/**
 * Sentences saying what a reload could not take (`auth: a users or key file was refused; ...`);
 * the part keeps its previous settings for those.
 */
export type ReloadProblems = readonly string[];

export interface Part {
  /** For logs and reload problems: `kafka`, `auth`, `listeners`... */
  readonly name: string;
  /** Binds, connects, prepares; a part may count on every part before it having started. */
  start(): Promise<void>;
  /**
   * Finishes and releases what the part holds; the parts after it have stopped already. Also called
   * when start() failed or never ran (a part before it failed to start): it must cope with that.
   */
  stop(context: StopContext): Promise<void>;
  /** This part's say in whether the proxy should get traffic; absent = no say. */
  ready?(): Readiness;
  /**
   * Takes a validated new config; `change` names the sections that differ (none when the file was
   * only read again, which is when files the config names, such as users or certificates, are
   * re-read). Throws when it cannot take the config at all, keeping its previous settings.
   */
  reload?(next: ProxyConfig, change: ConfigChange): ReloadProblems | void | Promise<ReloadProblems | void>;
}
