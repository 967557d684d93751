/**
 * The import graph of src/ against the layers of DESIGN.md: arrows point down only.
 *
 * The order, lowest first, from DESIGN.md's rules ("mqtt imports no kafka or state; state imports
 * only kafka and config; config imports nothing above it") and the code as it is:
 *
 *   common         pure helpers moved below config: IP / CIDR parsing, Kafka topic names, regex
 *                  messages (config validates with them, listeners and mapping use them)
 *   config         schema, defaults, reading and validating topic-mappings.yaml
 *   observability  logger (takes config's log level), metrics, admin HTTP server
 *   mapping        pure: ingest rules, templates
 *   listeners      tcp, tls, ws, wss, PROXY protocol -> duplex streams and what is known of them
 *   kafka          the Kafka client: producer, lanes, topic checks
 *   mqtt           the engine; takes connections from the listeners, knows nothing of Kafka
 *   auth           users, JWT, certificate identity, ACLs
 *   state          sessions, retained messages, ownership on compacted topics
 *   pipeline       ingest: PUBLISH -> record -> Kafka -> ordered acknowledgements (DESIGN's
 *   ingest           src/ingest/; today's code is src/pipeline/: the same layer)
 *   delivery       Kafka -> devices
 *   server         composes the parts; lifecycle, readiness, reload
 *   cli            src/cli.ts, src/cli/, src/cli-tools.ts, src/workers.ts
 *   entry          src/index.ts, the library's entry
 *
 * A module may import its own layer and any layer below it; ALLOWED narrows that further where
 * DESIGN.md names what a layer may import. A new directory under src/ fails until it is given a
 * layer here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { importedSources, sourceFiles } from '../helpers/source-tree.js';

const ORDER: ReadonlyArray<readonly string[]> = [
  ['common', 'types'],
  ['config'],
  ['observability'],
  ['mapping'],
  ['listeners'],
  ['kafka'],
  ['mqtt'],
  ['auth'],
  ['state'],
  ['pipeline', 'ingest'],
  ['delivery'],
  ['server'],
  ['cli'],
  ['entry'],
];

/** Where DESIGN.md is stricter than the order: the only layers these may import (besides their own). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  // "mqtt imports no kafka or state": of the layers below it, kafka is left out.
  mqtt: ['common', 'types', 'config', 'observability', 'mapping', 'listeners'],
  // "state imports only kafka and config" (and what lies below config, and the logger and metrics).
  state: ['common', 'types', 'config', 'observability', 'kafka'],
};

/** Files at the top of src/ and the layer they belong to. */
const TOP_LEVEL_FILES: Readonly<Record<string, string>> = {
  'cli.ts': 'cli',
  'cli-tools.ts': 'cli',
  'workers.ts': 'cli',
  'server.ts': 'server',
  'index.ts': 'entry',
};

function layerOf(path: string): string | undefined {
  const slash = path.indexOf('/');
  if (slash === -1) return TOP_LEVEL_FILES[path];
  const directory = path.slice(0, slash);
  return ORDER.some((group) => group.includes(directory)) ? directory : undefined;
}

const rank = (layer: string): number => ORDER.findIndex((group) => group.includes(layer));

function mayImport(from: string, to: string): boolean {
  if (from === to) return true;
  const allowed = ALLOWED[from];
  if (allowed !== undefined) return allowed.includes(to) || rank(to) === rank(from);
  return rank(to) <= rank(from);
}

describe('layers', () => {
  const files = sourceFiles();
  const known = new Set(files.map((file) => file.path));

  it('every file under src/ has a layer', () => {
    assert.deepEqual(
      files.filter((file) => layerOf(file.path) === undefined).map((file) => `src/${file.path}`),
      [],
      'give these a layer in ORDER (or TOP_LEVEL_FILES)',
    );
  });

  it('every relative import names a file under src/', () => {
    const unresolved = files.flatMap((file) =>
      importedSources(file, known)
        .filter((target) => target.startsWith('?'))
        .map((target) => `src/${file.path} imports ${target.slice(1)}`),
    );
    assert.deepEqual(unresolved, []);
  });

  it('no file imports from a layer above its own', (t) => {
    const edges = new Map<string, number>();
    const upward: string[] = [];
    for (const file of files) {
      const from = layerOf(file.path);
      if (from === undefined) continue;
      for (const target of importedSources(file, known)) {
        const to = target.startsWith('?') ? undefined : layerOf(target);
        if (to === undefined || to === from) continue;
        edges.set(`${from} -> ${to}`, (edges.get(`${from} -> ${to}`) ?? 0) + 1);
        if (!mayImport(from, to)) upward.push(`src/${file.path} (${from}) imports src/${target} (${to})`);
      }
    }
    t.diagnostic(`imports between layers: ${[...edges.keys()].sort().join(', ')}`);
    assert.deepEqual(upward, []);
  });

  it('finds imports, so the check above can fail', () => {
    const read = files.find((file) => file.path === 'config/read.ts');
    assert.ok(read !== undefined);
    assert.ok(importedSources(read, known).includes('config/listeners.ts'));
    assert.equal(mayImport('config', 'mapping'), false);
    assert.equal(mayImport('mqtt', 'kafka'), false);
    assert.equal(mayImport('listeners', 'mqtt'), false);
    assert.equal(mayImport('server', 'config'), true);
  });
});
