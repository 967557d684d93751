import type { ProxyConfig } from './types.js';

/**
 * Sections a running proxy cannot take over without a restart: sockets are bound, Kafka clients
 * and the MQTT engine are built from them. Everything else (mappings, unmapped, auth, log level,
 * drain) is applied by a reload.
 */
export const RESTART_REQUIRED_SECTIONS = ['listeners', 'kafka', 'http', 'limits', 'reload'] as const satisfies ReadonlyArray<keyof ProxyConfig>;

export type RestartRequiredSection = (typeof RESTART_REQUIRED_SECTIONS)[number];

/** The sections that differ between the running config and a new one but need a restart to apply. */
export function restartRequiredChanges(running: ProxyConfig, next: ProxyConfig): RestartRequiredSection[] {
  return RESTART_REQUIRED_SECTIONS.filter((section) => !sameValue(running[section], next[section]));
}

/** Whether a reload would change anything at all. */
export function configChanged(running: ProxyConfig, next: ProxyConfig): boolean {
  return !sameValue({ ...running, source: '' }, { ...next, source: '' });
}

/** Structural equality of plain config values (objects, arrays, scalars; key order irrelevant). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) => Object.hasOwn(b, key) && sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}
