/**
 * README.md and docs/*.md render on GitHub with working relative links: every link to a file or
 * directory of the repository points at one that exists, and every `#anchor` (in the same
 * document or another Markdown file) is one GitHub gives a heading there. The README links every
 * page of docs/. Every table row has as many cells as its header (an unescaped `|` in a cell,
 * inside code too, splits it on GitHub and drops the rest of the row).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { documentAnchors, documentLinks, githubSlug, headingText, tableRows } from '../helpers/markdown.js';

// dist/test/unit -> the repository root.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Pages linked before they exist, each with the reason. A missing one is reported, not failed;
 * once it exists its anchors are checked like any other page's.
 */
const PENDING: Record<string, string> = {};

/** The documents checked, relative to `base`: README.md and every Markdown file in docs/. */
function documents(base: string): string[] {
  const docs = existsSync(join(base, 'docs')) ? readdirSync(join(base, 'docs')).filter((name) => name.endsWith('.md')) : [];
  return ['README.md', ...docs.sort().map((name) => `docs/${name}`)];
}

interface LinkProblems {
  readonly broken: string[];
  readonly pending: string[];
}

/** What is wrong with the relative links of `files` (paths relative to `base`). */
function checkLinks(base: string, files: readonly string[]): LinkProblems {
  const anchorsOf = new Map<string, Set<string>>();
  const anchors = (file: string): Set<string> => {
    let known = anchorsOf.get(file);
    if (known === undefined) {
      known = new Set(documentAnchors(readFileSync(join(base, file), 'utf8')));
      anchorsOf.set(file, known);
    }
    return known;
  };
  const broken: string[] = [];
  const pending: string[] = [];
  for (const file of files) {
    for (const { target, line } of documentLinks(readFileSync(join(base, file), 'utf8'))) {
      // Absolute URLs (https:, mailto:) and protocol-relative ones are not the repository's.
      if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(target) || target.startsWith('//')) continue;
      const where = `${file}:${line}: ${target}`;
      const hash = target.indexOf('#');
      const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
      const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
      if (pathPart.startsWith('/')) {
        broken.push(`${where}: a path from the site root does not work on GitHub; write it relative to ${file}`);
        continue;
      }
      const absolute = pathPart === '' ? join(base, file) : resolve(dirname(join(base, file)), pathPart);
      const inRepository = relative(base, absolute);
      if (inRepository.startsWith('..') || inRepository.startsWith(sep)) {
        broken.push(`${where}: points outside the repository`);
        continue;
      }
      if (!existsSync(absolute)) {
        if (PENDING[inRepository] !== undefined) pending.push(`${where} (${PENDING[inRepository]})`);
        else broken.push(`${where}: no such file or directory`);
        continue;
      }
      if (anchor === undefined || !inRepository.endsWith('.md')) continue;
      if (!anchors(inRepository).has(anchor)) broken.push(`${where}: ${inRepository} has no heading with the anchor #${anchor}`);
    }
  }
  return { broken, pending };
}

describe('README.md and docs/: links', () => {
  it('every relative link and anchor resolves', (t) => {
    const files = documents(root);
    assert.ok(files.length >= 6, `expected README.md and the docs/ pages, found ${files.join(', ')}`);
    const { broken, pending } = checkLinks(root, files);
    for (const link of pending) t.diagnostic(`pending page: ${link}`);
    assert.deepEqual(broken, []);
  });

  it('the README links every page of docs/', () => {
    const linked = new Set(
      documentLinks(readFileSync(join(root, 'README.md'), 'utf8')).map(({ target }) => target.replace(/#.*$/, '').replace(/^\.\//, '')),
    );
    const unlinked = documents(root).filter((file) => file !== 'README.md' && !linked.has(file));
    assert.deepEqual(unlinked, [], 'docs/ pages the README does not link');
  });
});

describe('README.md and docs/: tables', () => {
  it('every row has as many cells as its header', () => {
    const ragged = documents(root).flatMap((file) =>
      tableRows(readFileSync(join(root, file), 'utf8'))
        .filter(({ header, cells }) => cells.length !== header.length)
        .map(({ header, cells, line }) => `${file}:${line}: ${cells.length} cells under a header of ${header.length} (escape | as \\|)`),
    );
    assert.deepEqual(ragged, []);
  });
});

describe('how links are checked', () => {
  it('gives headings the anchors GitHub gives them', () => {
    const cases: Array<[string, string]> = [
      ['Exposing the proxy: mTLS on 8883 and wss on 443 behind HAProxy', 'exposing-the-proxy-mtls-on-8883-and-wss-on-443-behind-haproxy'],
      ['The users file and `mqtt-kafka-proxy passwd`', 'the-users-file-and-mqtt-kafka-proxy-passwd'],
      ['`listeners` (list)', 'listeners-list'],
      ['Graceful drain (SIGTERM)', 'graceful-drain-sigterm'],
      ['Kafka client: kafkajs vs @platformatic/kafka', 'kafka-client-kafkajs-vs-platformatickafka'],
      ['PROXY protocol behind HAProxy (or AWS NLB, Envoy, Traefik)', 'proxy-protocol-behind-haproxy-or-aws-nlb-envoy-traefik'],
      ['Soak: 600 s of QoS 1 at 14,168/s (50% of max)', 'soak-600-s-of-qos-1-at-14168s-50-of-max'],
      ['QoS 1 latency (PUBLISH → PUBACK; direct: produce → Kafka ack)', 'qos-1-latency-publish--puback-direct-produce--kafka-ack'],
      ['**Bold** and _emphasis_ and [a link](x.md)', 'bold-and-emphasis-and-a-link'],
      ['`auth.failureDelay` and `max_ms`', 'authfailuredelay-and-max_ms'],
    ];
    for (const [heading, slug] of cases) assert.equal(githubSlug(headingText(heading)), slug, heading);
  });

  it('numbers repeated headings and ignores headings in code blocks', () => {
    const markdown = '# Targets\n\n## Targets\n\n```sh\n# not a heading\n```\n\n### Targets\n\n<a id="custom"></a>\n';
    assert.deepEqual(documentAnchors(markdown), ['targets', 'targets-1', 'targets-2', 'custom']);
  });

  it('reads links from prose only', () => {
    const markdown = [
      'See [a](a.md#x), ![b](img/b.png "title") and [c][ref].',
      '`[not](a link.md)` <!-- [nor](this.md) -->',
      '```',
      '[nor](code.md)',
      '```',
      '[ref]: docs/c.md',
      '<a href="d.md">d</a>',
    ].join('\n');
    assert.deepEqual(
      documentLinks(markdown).map(({ target, line }) => `${line}:${target}`),
      ['1:a.md#x', '1:img/b.png', '6:docs/c.md', '7:d.md'],
    );
  });

  it('reports a missing file, a missing anchor and a path outside the repository', () => {
    const base = mkdtempSync(join(tmpdir(), 'mkp-docs-links-'));
    try {
      mkdirSync(join(base, 'docs'));
      writeFileSync(join(base, 'docs', 'a.md'), '# A page\n\n## Its part\n\nBack to [the README](../README.md#top).\n');
      writeFileSync(
        join(base, 'README.md'),
        '# Top\n\n[ok](docs/a.md#its-part) [self](#top) [gone](docs/gone.md) [bad anchor](docs/a.md#nowhere) [out](../x.md) [dir](docs/)\n',
      );
      const { broken } = checkLinks(base, documents(base));
      assert.deepEqual(broken, [
        'README.md:3: docs/gone.md: no such file or directory',
        'README.md:3: docs/a.md#nowhere: docs/a.md has no heading with the anchor #nowhere',
        'README.md:3: ../x.md: points outside the repository',
      ]);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
