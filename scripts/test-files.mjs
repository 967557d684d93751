// The test files `node --test` is given: a directory stands for every *.test.js file under it
// (Node.js 22 and later no longer take a directory there, only files and glob patterns).
import fs from 'node:fs';
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
