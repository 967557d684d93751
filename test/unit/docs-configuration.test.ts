/**
 * docs/configuration.md documents every configuration key the loader accepts, with the default
 * the loader applies, and nothing the loader refuses.
 *
 * The keys come from the loader itself, not from a copy kept here: a configuration with an unknown
 * key gets the problem `unknown key (known keys here: a, b, c)`, which lists the keys the loader
 * accepts at that place. Starting at the top level, every accepted key is tried as a mapping and as
 * a list of mappings; where the loader answers with known keys again it is a section, and its keys
 * are read the same way. So a key added to the loader, in any section old or new, is found here and
 * fails this test until it is documented.
 *
 * The defaults come from the loader too: minimal configurations are loaded and every value the
 * loader filled in is looked for, as a code span, in the key's "default" cell.
 *
 * Examples in README.md and docs/ marked `<!-- checked-config: NAME -->` (a whole configuration) or
 * `<!-- checked-config-part: NAME -->` (some sections, completed with anonymous access and one rule)
 * must load as written.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { ConfigError, LISTENER_PROTOCOLS, Secret } from '../../src/config/index.js';
import { parseConfig } from '../../src/server/load-config.js';
import { TestCertificates } from '../helpers/certs.js';
import { codeSpans, tableRows, type MarkdownTableRow } from '../helpers/markdown.js';

// dist/test/unit -> the repository root.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const REFERENCE = 'docs/configuration.md';

/** A key name no configuration has and no "did you mean" can take for a typo of a real one. */
const PROBE = 'zqxjzqxjzqxjzqxjzqxj';
const KNOWN_KEYS = /^unknown key \(known keys here: (.*)\)$/;

type Fields = Record<string, unknown>;
type Build = (fields: Fields) => Fields;

/**
 * Where the keys a section accepts depend on one of its own values, each value to probe with:
 * a listener's keys depend on its protocol (only tls and wss read `tls`, only ws and wss `path`).
 */
const VARIANTS: Record<string, readonly Fields[]> = {
  'listeners[]': LISTENER_PROTOCOLS.map((protocol) => ({ protocol })),
};

/** Defaults that depend on the machine (memory), documented as a rule rather than a number. */
const MACHINE_DEFAULTS: Record<string, RegExp> = {
  'limits.maxInflightMessages': /memory/,
  'limits.maxInflightBytes': /memory/,
};

function join2(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** The loader's problems for a configuration (none when it loads). */
function problemsOf(config: Fields): ConfigError['problems'] {
  return problemsOfText(stringify(config));
}

function problemsOfText(text: string): ConfigError['problems'] {
  try {
    parseConfig(text, '<probe>');
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

/** The keys the loader accepts where `reported` is (its own spelling of the path), or undefined. */
function knownKeysAt(config: Fields, reported: string): string[] | undefined {
  const where = join2(reported, PROBE);
  for (const { path, problem } of problemsOf(config)) {
    const match = KNOWN_KEYS.exec(problem);
    if (path === where && match !== null) return match[1]!.split(', ');
  }
  return undefined;
}

/**
 * Every key path the loader accepts under `path`, written as the reference writes them:
 * `kafka.acks.qos1`, lists as `listeners[].tls.cert`. `reported` is the same place as the loader
 * names it (`listeners[0].tls`); `build` puts fields there and returns the whole configuration.
 */
function discoverKeys(path: string, reported: string, build: Build, found: Set<string>): boolean {
  let isSection = false;
  for (const variant of VARIANTS[path] ?? [{}]) {
    const at: Build = (fields) => build({ ...variant, ...fields });
    const keys = knownKeysAt(at({ [PROBE]: 1 }), reported);
    if (keys === undefined) continue;
    isSection = true;
    for (const key of keys) {
      const keyPath = join2(path, key);
      found.add(keyPath);
      const asMapping = discoverKeys(keyPath, join2(reported, key), (fields) => at({ [key]: fields }), found);
      if (!asMapping) discoverKeys(`${keyPath}[]`, `${join2(reported, key)}[0]`, (fields) => at({ [key]: [fields] }), found);
    }
  }
  return isSection;
}

function schemaKeys(): Set<string> {
  const found = new Set<string>();
  discoverKeys('', '', (fields) => fields, found);
  return found;
}

/** A value as the reference writes it in a code span: `30000`, `true`, `all`, `[127.0.0.1:9092]`. */
function rendered(value: unknown): string | undefined {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string' || typeof item === 'number')) return `[${value.join(', ')}]`;
  return undefined;
}

/** Every scalar (and list of scalars) in a loaded configuration, by key path, lists as `[]`. */
function valuesOf(value: unknown, path: string, into: Map<string, Set<string>>): void {
  if (value === null || value === undefined || value instanceof Secret) return;
  const text = rendered(value);
  if (text !== undefined) {
    into.set(path, (into.get(path) ?? new Set()).add(text));
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) valuesOf(item, `${path}[]`, into);
    return;
  }
  if (typeof value === 'object') for (const [key, inner] of Object.entries(value)) valuesOf(inner, join2(path, key), into);
}

/**
 * The defaults the loader fills in, by key path: the values of minimal configurations that leave
 * the key out. A key given in a configuration does not count for that one.
 */
function loaderDefaults(configs: readonly Fields[]): Map<string, Set<string>> {
  const defaults = new Map<string, Set<string>>();
  for (const config of configs) {
    const given = new Map<string, Set<string>>();
    valuesOf(config, '', given);
    const loaded = new Map<string, Set<string>>();
    valuesOf(parseConfig(stringify(config), '<defaults>'), '', loaded);
    for (const [path, values] of loaded) {
      if (given.has(path)) continue;
      for (const value of values) defaults.set(path, (defaults.get(path) ?? new Set()).add(value));
    }
  }
  return defaults;
}

interface ReferenceRow {
  readonly row: MarkdownTableRow;
  readonly type: string;
  readonly defaultCell: string;
}

/** The reference's key rows (tables with key, type and default columns), by key path. */
function referenceRows(markdown: string): Map<string, ReferenceRow> {
  const rows = new Map<string, ReferenceRow>();
  for (const row of tableRows(markdown)) {
    const column = (name: string) => row.header.findIndex((cell) => cell.toLowerCase() === name);
    const [key, type, fallback] = [column('key'), column('type'), column('default')];
    if (key === -1 || type === -1 || fallback === -1) continue;
    for (const path of codeSpans(row.cells[key] ?? '')) {
      assert.ok(!rows.has(path), `${REFERENCE}:${row.line}: ${path} is documented twice (also on line ${rows.get(path)?.row.line})`);
      rows.set(path, { row, type: row.cells[type] ?? '', defaultCell: row.cells[fallback] ?? '' });
    }
  }
  return rows;
}

/** Top-level sections may be documented by their heading (`## \`kafka\``) instead of a row. */
function headingNames(markdown: string): Set<string> {
  const names = new Set<string>();
  for (const line of markdown.split('\n')) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading !== null) for (const name of codeSpans(heading[1]!)) names.add(name);
  }
  return names;
}

/** The keys without a row; a top-level section (`kafka`, `listeners`) may have a heading instead. */
function undocumented(keys: Iterable<string>, markdown: string): string[] {
  const rows = referenceRows(markdown);
  const headings = headingNames(markdown);
  const topLevelSection = (key: string) => /^[A-Za-z]+$/.test(key) && headings.has(key);
  return [...keys].filter((key) => !rows.has(key) && !topLevelSection(key));
}

describe(`${REFERENCE}: every configuration key, with its default`, () => {
  const markdown = readFileSync(join(root, REFERENCE), 'utf8');
  const keys = schemaKeys();
  const rows = referenceRows(markdown);
  const certificates = new TestCertificates();
  let defaults: Map<string, Set<string>>;

  before(() => {
    const ca = certificates.createCa('docs-ca');
    const server = certificates.issueServer(ca, 'docs-server');
    const tls = { cert: server.certFile, key: server.keyFile };
    const base: Fields = { mappings: [{ name: 'r', match: '^a$', topic: 't' }], auth: { usersFile: 'users.yaml' } };
    const listener = (fields: Fields): Fields => ({ ...base, listeners: [fields] });
    defaults = loaderDefaults([
      base,
      { ...base, auth: { jwt: { secret: 'a secret of at least thirty-two bytes' } } },
      { ...base, kafka: { ssl: true } },
      { ...base, kafka: { sasl: { mechanism: 'plain', username: 'u', password: 'p' } } },
      listener({ protocol: 'tcp' }),
      listener({ protocol: 'tcp', proxyProtocol: { trustedCidrs: ['10.0.0.0/8'] } }),
      listener({ protocol: 'ws' }),
      listener({ protocol: 'tls', tls }),
      listener({ protocol: 'wss', tls }),
    ]);
  });
  after(() => certificates.remove());

  it('finds the keys through the loader (so the checks below check something)', () => {
    for (const key of ['listeners[].tls.cert', 'listeners[].proxyProtocol.trustedCidrs', 'kafka.acks.qos1', 'kafka.sasl.passwordFile', 'mappings[].key', 'unmapped.topic', 'auth.jwt.secret', 'auth.failureDelay.maxMs', 'limits.maxPacketSize', 'topic.regex.list', 'log.level']) {
      assert.ok(keys.has(key), `the loader's known keys did not yield ${key}; found: ${[...keys].join(', ')}`);
    }
    assert.ok(keys.size >= 90, `only ${keys.size} keys found`);
  });

  it('documents every key the loader accepts', () => {
    const missing = undocumented(keys, markdown);
    assert.deepEqual(missing, [], `keys the loader accepts but ${REFERENCE} has no row for (add a row: | \`key\` | type | default | meaning |)`);
  });

  it('documents no key the loader refuses', () => {
    const unknown = [...rows.keys()].filter((key) => !keys.has(key));
    assert.deepEqual(unknown, [], `${REFERENCE} documents keys the loader does not accept`);
  });

  it('gives every key a type and a default', () => {
    for (const [key, { row, type, defaultCell }] of rows) {
      assert.ok(type !== '', `${REFERENCE}:${row.line}: ${key} has no type`);
      assert.ok(defaultCell !== '', `${REFERENCE}:${row.line}: ${key} has no default (write "none" or "required")`);
    }
  });

  it("states the loader's defaults", () => {
    assert.ok(defaults.size >= 55, `only ${defaults.size} defaults read from the loader`);
    const wrong: string[] = [];
    for (const [key, values] of defaults) {
      const row = rows.get(key);
      if (!keys.has(key) || row === undefined) continue;
      const documented = codeSpans(row.defaultCell);
      const rule = MACHINE_DEFAULTS[key];
      if (rule !== undefined) {
        if (!rule.test(row.defaultCell)) wrong.push(`${key}: the default depends on the machine; the cell should say how (${rule})`);
        continue;
      }
      for (const value of values) {
        if (!documented.includes(value)) wrong.push(`${REFERENCE}:${row.row.line}: ${key}: the loader's default is \`${value}\`, the cell says: ${row.defaultCell}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('would notice a key without a row', () => {
    const withoutLinger = markdown
      .split('\n')
      .filter((line) => !line.startsWith('| `kafka.lingerMs`'))
      .join('\n');
    assert.deepEqual(undocumented(['kafka.lingerMs', 'kafka.batchMaxRecords'], withoutLinger), ['kafka.lingerMs']);
  });
});

/** Enough of a configuration for a part that has only some sections to load on its own. */
const PART_BASE: Fields = { auth: { anonymous: true }, mappings: [{ name: 'base', match: '^base$', topic: 'base' }] };

/** The YAML blocks marked `<!-- checked-config: NAME -->` or `<!-- checked-config-part: NAME -->` in a page. */
function markedConfigs(markdown: string): Array<{ name: string; part: boolean; yaml: string; line: number }> {
  const found = [];
  for (const match of markdown.matchAll(/<!-- checked-config(-part)?: (\S+) -->\n```yaml\n([\s\S]*?)\n```\n/g)) {
    found.push({ name: match[2]!, part: match[1] !== undefined, yaml: match[3]!, line: markdown.slice(0, match.index).split('\n').length });
  }
  return found;
}

describe('README.md and docs/: configuration examples load as written', () => {
  const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
  const examples = pages.flatMap((page) => markedConfigs(readFileSync(join(root, page), 'utf8')).map((example) => ({ page, ...example })));

  it('finds the marked examples', () => {
    assert.ok(examples.some(({ page, part }) => page === 'README.md' && !part), 'README.md has no <!-- checked-config: NAME --> example');
    assert.ok(examples.length >= 3, `only ${examples.length} marked examples`);
  });

  for (const { page, name, part, yaml, line } of examples) {
    it(`${page}:${line} ${name}`, () => {
      const text = part ? stringify({ ...PART_BASE, ...(parse(yaml) as Fields) }) : yaml;
      assert.deepEqual(problemsOfText(text).map((problem) => `${problem.path}: ${problem.problem}`), []);
    });
  }
});
