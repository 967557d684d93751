/**
 * Reload: a validated new config, the typed diff against the running one, and each part and
 * registered Reloadable given it in turn. One reload at a time, in the order asked for.
 */
import { diffConfig, type ConfigChange } from '../config/reload-diff.js';
import type { ProxyConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { ProxyMetrics } from '../observability/metrics.js';
import type { Part } from './part.js';
import type { Reloadable, ReloadResult } from './types.js';

/** Something that takes a new config: a part, or a step compose.ts or onReload() adds. */
export type ReloadStep = Pick<Part, 'name'> & Required<Pick<Part, 'reload'>>;

export interface ReloaderOptions {
  readonly initial: ProxyConfig;
  /** In the order they are given the new config. */
  readonly steps: readonly ReloadStep[];
  /** How `reload()` without an argument reads the config again; undefined when it cannot. */
  readonly loader: (() => ProxyConfig) | undefined;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
}

export interface Reloader {
  /** The config in effect: the last one applied, with the sections that need a restart as they run. */
  readonly running: ProxyConfig;
  reload(next?: ProxyConfig | (() => ProxyConfig)): Promise<ReloadResult>;
  /** Given every config a reload applies (not a file merely read again). Returns the unregistration. */
  register(part: Reloadable): () => void;
}

export function createReloader(options: ReloaderOptions): Reloader {
  return new ConfigReloader(options);
}

class ConfigReloader implements Reloader {
  private current: ProxyConfig;
  private readonly steps: ReloadStep[];
  private queue: Promise<ReloadResult> = Promise.resolve({ outcome: 'unchanged', restartRequired: [] });

  constructor(private readonly options: ReloaderOptions) {
    this.current = options.initial;
    this.steps = [...options.steps];
  }

  get running(): ProxyConfig {
    return this.current;
  }

  reload(next?: ProxyConfig | (() => ProxyConfig)): Promise<ReloadResult> {
    this.queue = this.queue.then(() => this.apply(next));
    return this.queue;
  }

  register(part: Reloadable): () => void {
    // A Reloadable takes configs that change something; files read again are the parts' business.
    const step: ReloadStep = {
      name: part.name,
      reload: (config, change) => (change.changed.length === 0 ? undefined : part.reload(config)),
    };
    this.steps.push(step);
    return () => {
      const index = this.steps.indexOf(step);
      if (index !== -1) this.steps.splice(index, 1);
    };
  }

  private async apply(next: ProxyConfig | (() => ProxyConfig) | undefined): Promise<ReloadResult> {
    const { logger, metrics } = this.options;
    const candidate = this.read(next);
    if ('outcome' in candidate) return candidate;
    const change = diffConfig(this.current, candidate);
    const unchanged = change.changed.length === 0;
    if (change.restartRequired.length > 0) {
      logger.warn({ sections: change.restartRequired }, `reload: changes to ${change.restartRequired.join(', ')} take effect only after a restart`);
    }
    const problems = await this.runSteps(candidate, change);
    if (!unchanged) this.current = effectiveConfig(this.current, candidate, change);
    const restartRequired = [...change.restartRequired];
    if (problems.length > 0) {
      metrics.reloads.inc({ outcome: 'failed' });
      return { outcome: 'failed', restartRequired, problem: problems.join('; ') };
    }
    if (unchanged) {
      metrics.reloads.inc({ outcome: 'unchanged' });
      logger.info('reload: configuration unchanged; users, keys and certificates read again');
      return { outcome: 'unchanged', restartRequired };
    }
    metrics.reloads.inc({ outcome: 'applied' });
    logger.info({ rules: candidate.mappings.length, restartRequired }, 'configuration reloaded');
    return { outcome: 'applied', restartRequired };
  }

  /** The new config, or the refusal when there is none or it is invalid. */
  private read(next: ProxyConfig | (() => ProxyConfig) | undefined): ProxyConfig | ReloadResult {
    const read = next ?? this.options.loader;
    if (read === undefined) return this.refuse('the configuration was not loaded from a file, so there is nothing to read again');
    try {
      return typeof read === 'function' ? read() : read;
    } catch (error) {
      // A ConfigError's message lists every problem, one `FILE: PATH: PROBLEM` line each.
      return this.refuse(error instanceof Error ? error.message : String(error));
    }
  }

  private refuse(problem: string): ReloadResult {
    this.options.metrics.reloads.inc({ outcome: 'refused' });
    this.options.logger.error({ problem }, `reload refused, the running configuration stays: ${problem}`);
    return { outcome: 'refused', restartRequired: [], problem };
  }

  /** Every step in turn; a step that throws keeps its settings and the others go on. */
  private async runSteps(candidate: ProxyConfig, change: ConfigChange): Promise<string[]> {
    const problems: string[] = [];
    for (const step of [...this.steps]) {
      try {
        problems.push(...((await step.reload(candidate, change)) ?? []));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        problems.push(`${step.name}: ${message}`);
        this.options.logger.error({ part: step.name, err: message }, `reload of ${step.name} failed; it keeps its previous settings`);
      }
    }
    return problems;
  }
}

/** The new config, except that sections needing a restart keep describing what actually runs. */
function effectiveConfig(running: ProxyConfig, candidate: ProxyConfig, change: ConfigChange): ProxyConfig {
  let effective = candidate;
  for (const section of change.restartRequired) effective = { ...effective, [section]: running[section] };
  return effective;
}
