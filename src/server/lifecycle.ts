/**
 * Start and stop, in one place: the parts start one after another in the order compose.ts lists
 * them and stop in the reverse order, after a drain delay during which readiness is already false.
 */
import type { Logger } from '../observability/logger.js';
import type { Part } from './part.js';

export type LifecyclePhase = 'new' | 'starting' | 'started' | 'draining' | 'stopping' | 'stopped';

/** Where the proxy is in its life; readiness reads it, the lifecycle moves it on. */
export class LifecycleState {
  phase: LifecyclePhase = 'new';
}

export interface LifecycleOptions {
  readonly state: LifecycleState;
  /** In start order. */
  readonly parts: readonly Part[];
  readonly logger: Logger;
  /** Fields of the "stopping" log line: what is still on its way. */
  readonly stoppingFields?: () => Record<string, unknown>;
  /** Once every part started, unless a stop began meanwhile. */
  readonly onStarted?: () => void;
  /** When a stop begins, before the drain delay. */
  readonly onStopping?: () => void;
}

export interface Lifecycle {
  /** Starts every part; when one fails, stops them all and rethrows. */
  start(): Promise<void>;
  /** Reports not ready, waits `delayMs`, then stops every part (later ones first). */
  stop(delayMs: number, drainTimeoutMs: number): Promise<void>;
}

export function createLifecycle(options: LifecycleOptions): Lifecycle {
  const { state, parts, logger } = options;

  const stopAll = async (drainTimeoutMs: number, keepGoing: boolean): Promise<void> => {
    for (const part of [...parts].reverse()) {
      try {
        await part.stop({ drainTimeoutMs });
      } catch (error) {
        if (!keepGoing) throw error;
        logger.warn({ part: part.name, err: (error as Error).message }, `${part.name} did not stop cleanly`);
      }
    }
  };

  return {
    async start() {
      if (state.phase !== 'new') throw new Error(`proxy cannot start: it is ${state.phase}`);
      state.phase = 'starting';
      try {
        for (const part of parts) await part.start();
      } catch (error) {
        // The part that failed may hold something already (listeners bound before the one that
        // could not be), and those after it were built: every part lets go.
        await stopAll(0, true);
        state.phase = 'stopped';
        throw error;
      }
      // stop() may have begun while the parts were starting; it owns the phase then.
      if (state.phase === 'starting') {
        state.phase = 'started';
        options.onStarted?.();
      }
    },

    async stop(delayMs, drainTimeoutMs) {
      if (state.phase === 'draining' || state.phase === 'stopping' || state.phase === 'stopped') return;
      state.phase = 'draining';
      options.onStopping?.();
      if (delayMs > 0) {
        logger.info({ delayMs }, 'draining: reporting not ready, still serving until load balancers take this replica out');
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
      state.phase = 'stopping';
      logger.info(options.stoppingFields?.() ?? {}, 'stopping: no new connections or publishes');
      await stopAll(drainTimeoutMs, false);
      state.phase = 'stopped';
      logger.info('stopped');
    },
  };
}
