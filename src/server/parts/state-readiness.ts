import type { Readiness } from '../../observability/admin-server.js';

/** Readiness of a part that keeps state in a compacted topic: ready once it has read the topic. */
export function stateTopicReadiness(store: { readonly state: string; readonly failure: Error | undefined }, what: string, topic: string): Readiness {
  switch (store.state) {
    case 'ready':
      return { ready: true };
    case 'misconfigured':
      return { ready: false, reason: store.failure?.message ?? `${what} topic ${topic} cannot be used` };
    default:
      return { ready: false, reason: `reading the ${what} (${topic})` };
  }
}

/**
 * Starts a state topic's store and waits for the first answer about the topic: a topic without
 * compaction stops the proxy (`section` names the setting); a Kafka that does not answer within
 * `timeoutMs` is left to the store's retries.
 */
export async function startStateTopic(start: () => Promise<unknown>, section: string, timeoutMs: number, notCompacted: (outcome: unknown) => outcome is Error): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
  const outcome = await Promise.race([start(), late]);
  clearTimeout(timer);
  if (notCompacted(outcome)) throw new Error(`${section}: ${outcome.message}`);
}
