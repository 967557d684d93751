/**
 * The running proxy's skeleton with stand-in parts: start order, stop order, what a failed start
 * leaves, readiness, and what each reload step is given.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import type { Readiness } from '../../src/observability/admin-server.js';
import { createLifecycle, LifecycleState } from '../../src/server/lifecycle.js';
import { parseConfig } from '../../src/server/load-config.js';
import type { Part } from '../../src/server/part.js';
import { readinessOf } from '../../src/server/readiness.js';
import { createReloader, type ReloadStep } from '../../src/server/reload.js';

const logger = createLogger('silent');

function part(name: string, calls: string[], options: { failStart?: boolean; ready?: () => Readiness } = {}): Part {
  return {
    name,
    start: async () => {
      calls.push(`start ${name}`);
      if (options.failStart === true) throw new Error(`${name} cannot start`);
    },
    stop: async ({ drainTimeoutMs }) => {
      calls.push(`stop ${name} ${drainTimeoutMs}`);
    },
    ...(options.ready !== undefined && { ready: options.ready }),
  };
}

describe('server lifecycle', () => {
  it('starts the parts in order and stops them in reverse after the drain delay, not ready meanwhile', async () => {
    const calls: string[] = [];
    const state = new LifecycleState();
    const parts = [part('a', calls), part('b', calls), part('c', calls)];
    const lifecycle = createLifecycle({ state, parts, logger, onStarted: () => calls.push('started'), onStopping: () => calls.push('stopping') });
    assert.deepEqual(readinessOf(state.phase, parts), { ready: false, reason: 'starting' });
    await lifecycle.start();
    assert.deepEqual(readinessOf(state.phase, parts), { ready: true });
    const stopped = lifecycle.stop(50, 700);
    assert.equal(state.phase, 'draining');
    assert.deepEqual(readinessOf(state.phase, parts), { ready: false, reason: 'draining: the proxy is shutting down' });
    assert.deepEqual(calls, ['start a', 'start b', 'start c', 'started', 'stopping'], 'nothing stops during the delay');
    await stopped;
    assert.equal(state.phase, 'stopped');
    assert.deepEqual(calls.slice(5), ['stop c 700', 'stop b 700', 'stop a 700']);
    await lifecycle.stop(0, 0);
    assert.equal(calls.length, 8, 'a second stop does nothing');
    await assert.rejects(lifecycle.start(), /cannot start: it is stopped/);
  });

  it('stops every part, later ones first, when one cannot start, and rethrows', async () => {
    const calls: string[] = [];
    const state = new LifecycleState();
    const lifecycle = createLifecycle({
      state,
      parts: [part('a', calls), part('b', calls, { failStart: true }), part('c', calls)],
      logger,
      onStarted: () => calls.push('started'),
    });
    await assert.rejects(lifecycle.start(), /b cannot start/);
    assert.equal(state.phase, 'stopped');
    assert.deepEqual(calls, ['start a', 'start b', 'stop c 0', 'stop b 0', 'stop a 0']);
  });

  it('does not report started when a stop began while the parts were starting', async () => {
    const calls: string[] = [];
    const state = new LifecycleState();
    let release: () => void = () => undefined;
    const slow: Part = { ...part('slow', calls), start: () => new Promise<void>((resolve) => (release = resolve)) };
    const lifecycle = createLifecycle({ state, parts: [slow], logger, onStarted: () => calls.push('started') });
    const starting = lifecycle.start();
    const stopping = lifecycle.stop(0, 10);
    release();
    await Promise.all([starting, stopping]);
    assert.equal(state.phase, 'stopped');
    assert.ok(!calls.includes('started'), calls.join(', '));
  });

  it('readiness gives the first part that objects, in start order', () => {
    const calls: string[] = [];
    const parts = [
      part('a', calls, { ready: () => ({ ready: true }) }),
      part('b', calls),
      part('c', calls, { ready: () => ({ ready: false, reason: 'c is not there' }) }),
      part('d', calls, { ready: () => ({ ready: false, reason: 'd is not there' }) }),
    ];
    assert.deepEqual(readinessOf('started', parts), { ready: false, reason: 'c is not there' });
  });
});

describe('server reload', () => {
  const BASE = `mappings: [{ name: a, match: '^a$', topic: iot.a }]\nauth: { anonymous: true }\n`;
  const config = (extra = '') => parseConfig(`${BASE}${extra}`, '/etc/mkp/test.yaml');

  function recorder(name: string, seen: string[], problems: readonly string[] = []): ReloadStep {
    return {
      name,
      reload: (next, change) => {
        seen.push(`${name}: ${change.changed.join(',') || 'none'} ${next.log.level}`);
        return problems;
      },
    };
  }

  it('gives every step the new config and the changed sections; Reloadables only changes', async () => {
    const seen: string[] = [];
    const reloader = createReloader({ initial: config(), steps: [recorder('one', seen), recorder('two', seen)], loader: () => config(), logger, metrics: createMetrics({ collectDefault: false }) });
    reloader.register({ name: 'embedder', reload: (next) => void seen.push(`embedder ${next.log.level}`) });
    assert.deepEqual(await reloader.reload(config('log: { level: debug }\n')), { outcome: 'applied', restartRequired: [] });
    assert.equal(reloader.running.log.level, 'debug');
    assert.deepEqual(await reloader.reload(config('log: { level: debug }\n')), { outcome: 'unchanged', restartRequired: [] });
    assert.deepEqual(seen, ['one: log debug', 'two: log debug', 'embedder debug', 'one: none debug', 'two: none debug']);
  });

  it('keeps the running values of sections that need a restart, and names them', async () => {
    const reloader = createReloader({ initial: config(), steps: [], loader: undefined, logger, metrics: createMetrics({ collectDefault: false }) });
    const result = await reloader.reload(config('http: { port: 9191 }\nlog: { level: warn }\n'));
    assert.deepEqual(result, { outcome: 'applied', restartRequired: ['http'] });
    assert.equal(reloader.running.http.port, 9090, 'http still describes what runs');
    assert.equal(reloader.running.log.level, 'warn');
  });

  it('reports a step that throws or refuses a file as failed; the other steps still take the config', async () => {
    const seen: string[] = [];
    const throwing: ReloadStep = {
      name: 'broken',
      reload: () => {
        throw new Error('cannot read x.pem');
      },
    };
    const steps = [throwing, recorder('files', seen, ['files: a users or key file was refused; the previous one stays']), recorder('after', seen)];
    const reloader = createReloader({ initial: config(), steps, loader: undefined, logger, metrics: createMetrics({ collectDefault: false }) });
    const result = await reloader.reload(config('log: { level: error }\n'));
    assert.deepEqual(result, {
      outcome: 'failed',
      restartRequired: [],
      problem: 'broken: cannot read x.pem; files: a users or key file was refused; the previous one stays',
    });
    assert.deepEqual(seen, ['files: log error', 'after: log error']);
  });

  it('refuses an invalid config and one that cannot be read again, keeping the running one', async () => {
    const metrics = createMetrics({ collectDefault: false });
    const initial = config();
    const reloader = createReloader({ initial, steps: [], loader: undefined, logger, metrics });
    const noFile = await reloader.reload();
    assert.equal(noFile.outcome, 'refused');
    assert.match(noFile.problem ?? '', /not loaded from a file/);
    const invalid = await reloader.reload(() => parseConfig('mappings: 5\n', 'new.yaml'));
    assert.equal(invalid.outcome, 'refused');
    assert.match(invalid.problem ?? '', /^new\.yaml: mappings: expected a list of rules/);
    assert.equal(reloader.running, initial);
    const refused = (await metrics.reloads.get()).values.find((v) => v.labels.outcome === 'refused');
    assert.equal(refused?.value, 2);
  });
});
