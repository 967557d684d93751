/**
 * The size of the code in src/: small modules with one job.
 *
 * Thresholds (the project's charter says "no function over ~80 lines, no file in src/ over ~300"):
 * - a file has at most MAX_FILE_LINES lines, counted as written (comments and blank lines too:
 *   they are read as well);
 * - a function has at most MAX_FUNCTION_LINES lines from its first line to its last; a function
 *   contains the functions nested in it, so a factory returning an object of closures counts
 *   with all of them.
 * Both lists of the longest are printed on every run (node --test shows them as diagnostics).
 *
 * EXEMPT names files that are over a limit for a reason of their own, each with that reason; an
 * exemption of a file that is within the limits again fails too, so the list only shrinks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { functionSpans, sourceFiles, type FunctionSpan } from '../helpers/source-tree.js';

const MAX_FILE_LINES = 300;
const MAX_FUNCTION_LINES = 80;

const EXEMPT: Readonly<Record<string, string>> = {};

/** How many of the longest files and functions each run prints. */
const SHOWN = 12;

describe('code shape', () => {
  const files = sourceFiles();
  const functions: FunctionSpan[] = files.flatMap(functionSpans);

  it(`no file in src/ has more than ${MAX_FILE_LINES} lines`, (t) => {
    const longest = [...files].sort((a, b) => b.lines - a.lines);
    t.diagnostic(`longest files: ${longest.slice(0, SHOWN).map((f) => `${f.path} ${f.lines}`).join(', ')}`);
    const over = longest.filter((file) => file.lines > MAX_FILE_LINES && EXEMPT[file.path] === undefined);
    assert.deepEqual(over.map((f) => `src/${f.path}: ${f.lines} lines`), [], `split these files (at most ${MAX_FILE_LINES} lines each)`);
  });

  it(`no function in src/ has more than ${MAX_FUNCTION_LINES} lines`, (t) => {
    const longest = [...functions].sort((a, b) => b.lines - a.lines);
    t.diagnostic(`longest functions: ${longest.slice(0, SHOWN).map((f) => `${f.where} ${f.lines}`).join(', ')}`);
    const over = longest.filter((fn) => fn.lines > MAX_FUNCTION_LINES && EXEMPT[fn.file] === undefined);
    assert.deepEqual(over.map((f) => `src/${f.where}: ${f.lines} lines`), [], `split these functions (at most ${MAX_FUNCTION_LINES} lines each)`);
  });

  it('exempts only files that exist and are still over a limit', () => {
    const stale = Object.keys(EXEMPT).filter((path) => {
      const file = files.find((f) => f.path === path);
      if (file === undefined) return true;
      return file.lines <= MAX_FILE_LINES && functions.every((fn) => fn.file !== path || fn.lines <= MAX_FUNCTION_LINES);
    });
    assert.deepEqual(stale, [], 'remove these from EXEMPT: they are within the limits (or gone)');
  });

  it('measures what it claims to: a known function and file are found with their lengths', () => {
    // The measurement itself must not pass by finding nothing.
    assert.ok(files.length > 50, `found ${files.length} files under src/`);
    const read = functions.find((fn) => fn.file === 'config/read.ts' && fn.where.endsWith(' buildConfig'));
    assert.ok(read !== undefined && read.lines > 20 && read.lines <= MAX_FUNCTION_LINES, JSON.stringify(read));
    const engine = files.find((f) => f.path === 'mqtt/engine.ts');
    assert.ok(engine === undefined || engine.lines > 0);
  });
});
