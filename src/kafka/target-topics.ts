import type { Logger } from 'pino';
import { missingTopics, type StaticTopic } from './topic-check.js';

/** How often missing static topics are looked for again while `kafka.requireTopics` holds readiness back. */
const TOPIC_RECHECK_MS = 5000;

/**
 * The startup check of the static target topics (see {@link StaticTopic}), so a typo in a rule
 * shows up at startup rather than at the first message. With `requireTopics` the check repeats
 * until they all exist; each missing topic is reported once, not at every recheck.
 */
export class TargetTopics {
  private checkedOnce = false;
  private missingNow: readonly StaticTopic[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly targets: readonly StaticTopic[],
    private readonly listTopics: () => Promise<readonly string[]>,
    private readonly requireTopics: boolean,
    private readonly logger: Logger,
  ) {}

  /** Kafka listed its topics at least once (or there is nothing to check). */
  get checked(): boolean {
    return this.checkedOnce;
  }

  get missing(): readonly StaticTopic[] {
    return this.missingNow;
  }

  /** True unless `requireTopics` holds readiness back. */
  get satisfied(): boolean {
    return !this.requireTopics || (this.checkedOnce && this.missingNow.length === 0);
  }

  async check(): Promise<void> {
    if (this.targets.length === 0 || this.stopped) {
      this.checkedOnce = true;
      return;
    }
    const wasMissing = this.missingNow;
    try {
      this.missingNow = missingTopics(this.targets, await this.listTopics());
      this.checkedOnce = true;
    } catch (error) {
      // Only readiness depends on the answer; without requireTopics one warning is enough.
      const next = this.requireTopics ? 'trying again' : 'not checking them';
      this.logger.warn({ err: (error as Error).message }, `could not list Kafka topics to check the target topics; ${next}`);
      if (this.requireTopics) this.again();
      return;
    }
    const newlyMissing = this.missingNow.filter((m) => !wasMissing.some((w) => w.rule === m.rule && w.topic === m.topic));
    for (const { rule, topic } of newlyMissing) {
      const consequence = this.requireTopics ? 'the proxy stays not ready until it exists' : 'publishes routed to it are refused';
      this.logger.warn({ rule, topic, requireTopics: this.requireTopics }, `target Kafka topic ${topic} of rule ${rule} does not exist: ${consequence}`);
    }
    if (this.missingNow.length > 0 && this.requireTopics) {
      this.again();
    } else if (this.missingNow.length === 0) {
      const topics = this.targets.map((t) => t.topic);
      this.logger.info({ topics }, wasMissing.length > 0 ? 'every target Kafka topic exists now' : 'every target Kafka topic exists');
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private again(): void {
    if (!this.stopped) this.timer = setTimeout(() => void this.check(), TOPIC_RECHECK_MS);
  }
}
