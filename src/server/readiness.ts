/** Whether the proxy should get traffic (what /readyz answers): started, and no part objects. */
import type { Readiness } from '../observability/admin-server.js';
import type { LifecyclePhase } from './lifecycle.js';
import type { Part } from './part.js';

/** The first reason against traffic: the phase, then each part in start order. */
export function readinessOf(phase: LifecyclePhase, parts: readonly Part[]): Readiness {
  if (phase === 'new' || phase === 'starting') return { ready: false, reason: 'starting' };
  if (phase !== 'started') return { ready: false, reason: 'draining: the proxy is shutting down' };
  for (const part of parts) {
    const verdict = part.ready?.();
    if (verdict !== undefined && !verdict.ready) return verdict;
  }
  return { ready: true };
}
