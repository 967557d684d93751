import { classifyProduceError } from './errors.js';

export interface SendUntilOptions {
  /** Pause before the first retry; doubled each time up to `maxPauseMs`. */
  readonly pauseMs: number;
  readonly maxPauseMs: number;
  /** Called with each failure, retriable or not, before deciding. */
  readonly onFailure?: (error: unknown, retriable: boolean) => void;
  /** True once the sender is stopping: no further attempts. */
  readonly stopped: () => boolean;
}

/**
 * Makes `attempt` (one produce request) until it succeeds, fails in a way sending again cannot
 * fix, or `deadline` (when the oldest record in it times out for its device) leaves no room for
 * another try. A Kafka outage thus keeps records waiting, and devices held at the in-flight bound,
 * for the whole delivery timeout, instead of failing every batch after the client's few retries
 * and sending every device away to come back and fill the bound again.
 */
export async function sendUntil<T>(attempt: () => Promise<T>, deadline: number, options: SendUntilOptions): Promise<T> {
  let pause = options.pauseMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      const retriable = classifyProduceError(error).retriable;
      options.onFailure?.(error, retriable);
      if (!retriable || options.stopped() || Date.now() + pause >= deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(options.maxPauseMs, pause * 2);
  }
}
