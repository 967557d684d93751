/** What differs between the running config and a new one, section by section. */
import { Secret } from './secret.js';
import type { ProxyConfig } from './types.js';

/** A section of the configuration: everything in ProxyConfig except where it came from. */
export type ConfigSection = Exclude<keyof ProxyConfig, 'source'>;

/** Every section once (the type refuses a missing or unknown one), in the file's order. */
const SECTIONS: Readonly<Record<ConfigSection, true>> = {
  listeners: true,
  kafka: true,
  mappings: true,
  unmapped: true,
  delivery: true,
  retained: true,
  sessions: true,
  auth: true,
  http: true,
  drain: true,
  reload: true,
  limits: true,
  log: true,
};

export const CONFIG_SECTIONS: readonly ConfigSection[] = Object.keys(SECTIONS).filter((key): key is ConfigSection => key in SECTIONS);

/**
 * Sections a running proxy cannot take over without a restart: sockets are bound, Kafka clients
 * and the MQTT engine are built from them (`listeners` includes the HTTP ingest settings of http /
 * https listeners, `listeners[].ingest`: their servers are built with the listener); the delivery
 * readers are built from the delivery rules and the retained store from its topic, and the
 * subscriptions they serve already hold what was delivered under the old rules. Everything else
 * (mappings, unmapped, auth, log level, drain) is applied by a reload, to HTTP ingest requests as
 * to MQTT publishes.
 */
export const RESTART_REQUIRED_SECTIONS = ['listeners', 'kafka', 'delivery', 'retained', 'sessions', 'http', 'limits', 'reload'] as const satisfies readonly ConfigSection[];

export type RestartRequiredSection = (typeof RESTART_REQUIRED_SECTIONS)[number];

export interface ConfigChange {
  /** The sections whose values differ, in the file's order; empty when the new config says what runs. */
  readonly changed: readonly ConfigSection[];
  /** Those of them that take effect only after a restart. */
  readonly restartRequired: readonly RestartRequiredSection[];
}

export function diffConfig(running: ProxyConfig, next: ProxyConfig): ConfigChange {
  const changed = CONFIG_SECTIONS.filter((section) => !sameValue(running[section], next[section]));
  const restartRequired = RESTART_REQUIRED_SECTIONS.filter((section) => changed.includes(section));
  return { changed, restartRequired };
}

/** Whether a change touches any of `sections`. */
export function changes(change: ConfigChange, ...sections: readonly ConfigSection[]): boolean {
  return sections.some((section) => change.changed.includes(section));
}

/** The sections that differ between the running config and a new one but need a restart to apply. */
export function restartRequiredChanges(running: ProxyConfig, next: ProxyConfig): RestartRequiredSection[] {
  return [...diffConfig(running, next).restartRequired];
}

/** Whether a reload would change anything at all. */
export function configChanged(running: ProxyConfig, next: ProxyConfig): boolean {
  return diffConfig(running, next).changed.length > 0;
}

/** Structural equality of plain config values (objects, arrays, scalars; key order irrelevant). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  // A Secret shows no fields; two are the same when they hold the same value.
  if (a instanceof Secret || b instanceof Secret) return a instanceof Secret && b instanceof Secret && a.reveal() === b.reveal();
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) => Object.hasOwn(b, key) && sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}
