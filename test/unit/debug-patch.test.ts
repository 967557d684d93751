// patches/debug+4.4.3.patch: a disabled debug() returns before touching its arguments; an enabled
// one still formats and writes them as before.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(import.meta.url);
type Debugger = ((...args: unknown[]) => void) & { log: (...args: unknown[]) => void; useColors: boolean; enabled: boolean };
const createDebug = require('debug') as ((namespace: string) => Debugger) & { enable(ns: string): void; disable(): string };

test('enabled: formatted and written; disabled: nothing', () => {
  const lines: string[] = [];
  const d = createDebug('mkp-test:patch');
  d.useColors = false;
  d.log = (...args: unknown[]) => lines.push(args.map(String).join(' '));
  const before = createDebug.disable();
  try {
    d('not written %d', 1);
    assert.equal(d.enabled, false);
    createDebug.enable('mkp-test:*');
    assert.equal(d.enabled, true);
    d('packet %d of %s', 5, 'ten', { extra: true });
    assert.equal(lines.length, 1);
    // A custom log function gets the prefixed format string and every argument (debug's own
    // stderr writer is what applies util.format to them).
    assert.match(lines[0]!, /mkp-test:patch packet %d of %s 5 ten \[object Object\]$/);
    // The cached answer follows enable() / disable() without anyone reading `enabled` in between.
    createDebug.disable();
    d('not written either');
    createDebug.enable('mkp-test:*');
    d('written again');
    assert.equal(lines.length, 2);
    d.enabled = false;
    d('overridden: not written');
    assert.equal(lines.length, 2);
  } finally {
    createDebug.enable(before);
  }
});
