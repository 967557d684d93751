// The test files `node --test` is given: a directory stands for every *.test.js file under it
// (Node.js 22 and later no longer take a directory there, only files and glob patterns).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** `targets` with each directory replaced by its *.test.js files (sorted), relative to `cwd`. */
export function testFiles(targets, cwd) {
  return targets.flatMap((target) => {
    const full = path.resolve(cwd, target);
    if (!fs.existsSync(full) || !fs.statSync(full).isDirectory()) return [target];
    return fs
      .readdirSync(full, { recursive: true })
      .map(String)
      .filter((name) => name.endsWith('.test.js'))
      .sort()
      .map((name) => path.join(target, name));
  });
}

/**
 * Runs the files with `node --test`, one file at a time, TAP on stdout. --test-force-exit: a timer
 * or socket a failed test left behind must not keep its file's process (and so the whole run)
 * alive. A second reporter writes the failures to a file, printed again at the end: a long run's
 * log is often read from its tail.
 */
export function runNodeTests(files, { cwd, env }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mkp-tests-'));
  const failures = path.join(dir, 'failures.txt');
  const reporters = ['--test-reporter=tap', '--test-reporter-destination=stdout', '--test-reporter=dot', `--test-reporter-destination=${failures}`];
  const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-force-exit', ...reporters, ...files], { cwd, env, stdio: 'inherit' });
  if (result.status !== 0) {
    const text = fs.existsSync(failures) ? fs.readFileSync(failures, 'utf8') : '';
    const at = text.indexOf('Failed tests:');
    console.log(at < 0 ? `tests failed (exit ${result.status ?? result.signal}); no failing test was reported` : `\n${text.slice(at)}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return result;
}
