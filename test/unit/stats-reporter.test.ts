import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lateness, startStatsReporter } from '../../src/observability/stats-reporter.js';

test('MKP_BENCH_STATS unset, empty or not a positive integer: no reporting', async () => {
  for (const value of [undefined, '', '0', '-5', 'abc', '1.5']) {
    const lines: string[] = [];
    const stop = startStatsReporter(value === undefined ? {} : { MKP_BENCH_STATS: value }, () => ({}), (l) => lines.push(l));
    await new Promise((resolve) => setTimeout(resolve, 30));
    stop();
    assert.deepEqual(lines, [], `value ${value}`);
  }
});

test('MKP_BENCH_STATS=MS: one JSON line per interval with memory, CPU, event-loop delay and the extra fields', async () => {
  const lines: string[] = [];
  const stop = startStatsReporter({ MKP_BENCH_STATS: '20' }, () => ({ kafkaSent: { requests: 3, records: 7 } }), (l) => lines.push(l));
  await new Promise((resolve) => setTimeout(resolve, 110));
  stop();
  assert.ok(lines.length >= 2, `${lines.length} lines`);
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(line.mkpStats, 1);
  assert.equal(line.pid, process.pid);
  for (const field of ['t', 'rss', 'heapUsed', 'eldP50', 'eldP99', 'eldMax', 'eldP99SinceStart', 'cpuUserMs', 'cpuSystemMs']) {
    assert.equal(typeof line[field], 'number', field);
  }
  assert.ok((line.rss as number) > 0);
  assert.deepEqual(line.kafkaSent, { requests: 3, records: 7 });
  assert.ok(lines.every((l) => l.endsWith('\n')));
});

test('event-loop delay is the lateness beyond the 10 ms sampling period, never negative', () => {
  assert.equal(lateness(10_000_000), 0);
  assert.equal(lateness(9_400_000), 0);
  assert.equal(lateness(12_500_000), 2.5);
  assert.equal(lateness(157_000_000), 147);
});

test('an event loop blocked for 60 ms reads as about 60 ms late, an idle one as under 5 ms', async () => {
  const lines: string[] = [];
  const stop = startStatsReporter({ MKP_BENCH_STATS: '150' }, () => ({}), (l) => lines.push(l));
  await new Promise((resolve) => setTimeout(resolve, 160));
  const idle = JSON.parse(lines[0]!) as { eldP50: number };
  const until = Date.now() + 60;
  while (Date.now() < until); // blocks the loop on purpose
  await new Promise((resolve) => setTimeout(resolve, 160));
  stop();
  const blocked = JSON.parse(lines[1]!) as { eldMax: number; eldP99SinceStart: number };
  assert.ok(idle.eldP50 < 5, `idle p50 ${idle.eldP50} ms`);
  assert.ok(blocked.eldMax >= 45 && blocked.eldMax < 120, `blocked max ${blocked.eldMax} ms`);
  // One late sample in ~30 is over the 99th percentile: the whole run's p99 shows the stall too.
  assert.ok(blocked.eldP99SinceStart >= 45, `p99 since start ${blocked.eldP99SinceStart} ms`);
});
