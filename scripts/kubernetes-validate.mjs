#!/usr/bin/env node
// Validates Kubernetes manifests with kubeconform in strict mode, offline.
//
//   node scripts/kubernetes-validate.mjs [FILE_OR_DIR...]      (default: deploy/kubernetes)
//
// kubeconform is built with `go install` (Go module proxy) into the cache. Its usual schema source
// is a download from GitHub; instead the strict Kubernetes JSON schemas come from the
// `kubernetes-validate` package on PyPI (pip download, no install), and the kinds the manifests use
// are made standalone (their shared definitions inlined) so kubeconform needs no network at all.
//
// Environment: MKP_CACHE_DIR (default ~/.cache/mqtt-kafka-proxy), KUBERNETES_VERSION (default 1.33.0).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KUBECONFORM_VERSION = 'v0.8.0';
const SCHEMA_PACKAGE = 'kubernetes-validate==1.37.0';
const KUBERNETES_VERSION = process.env.KUBERNETES_VERSION ?? '1.33.0';
/** Every kind the manifests may use, as kubeconform names their schema files. */
const KINDS = [
  'deployment-apps-v1',
  'service-v1',
  'configmap-v1',
  'secret-v1',
  'poddisruptionbudget-policy-v1',
  'horizontalpodautoscaler-autoscaling-v2',
];

const cache = process.env.MKP_CACHE_DIR ?? path.join(homedir(), '.cache', 'mqtt-kafka-proxy');

function log(message) {
  process.stderr.write(`kubernetes-validate: ${message}\n`);
}

function ensureKubeconform() {
  const bin = path.join(cache, 'go', 'bin', 'kubeconform');
  if (existsSync(bin)) return bin;
  log(`building kubeconform ${KUBECONFORM_VERSION} with go install`);
  const goRoot = path.join(cache, 'go');
  execFileSync('go', ['install', `github.com/yannh/kubeconform/cmd/kubeconform@${KUBECONFORM_VERSION}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      GOBIN: path.join(goRoot, 'bin'),
      GOPATH: path.join(goRoot, 'path'),
      GOMODCACHE: path.join(goRoot, 'mod'),
      GOCACHE: path.join(goRoot, 'build'),
      GOFLAGS: '-modcacherw',
    },
  });
  return bin;
}

/** Replaces refs into the shared definitions file by local refs, collecting the names used. */
function localizeRefs(node, used) {
  if (Array.isArray(node)) return node.map((item) => localizeRefs(item, used));
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string') {
      const match = /^(?:\/api\/_definitions\.json)?#\/\$defs\/(.+)$/.exec(value);
      if (match === null) throw new Error(`unexpected $ref ${value}`);
      used.add(match[1]);
      out[key] = `#/$defs/${match[1]}`;
    } else {
      out[key] = localizeRefs(value, used);
    }
  }
  return out;
}

function ensureSchemas() {
  const dir = path.join(cache, 'kubernetes-schemas', `v${KUBERNETES_VERSION}-standalone-strict`);
  if (KINDS.every((kind) => existsSync(path.join(dir, `${kind}.json`)))) return dir;
  const download = path.join(cache, 'kubernetes-schemas', 'download');
  mkdirSync(download, { recursive: true });
  log(`fetching ${SCHEMA_PACKAGE} (strict Kubernetes JSON schemas) with pip download`);
  execFileSync('python3', ['-m', 'pip', 'download', '--quiet', '--no-deps', '--disable-pip-version-check', '-d', download, SCHEMA_PACKAGE], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const prefix = `kubernetes_validate/kubernetes-json-schema/v${KUBERNETES_VERSION}-local-strict/`;
  const names = ['_definitions', ...KINDS].map((name) => `${prefix}${name}.json`);
  // Only the few files needed out of a wheel of thousands.
  execFileSync(
    'python3',
    [
      '-c',
      'import glob, sys, zipfile\n' +
        'wheel = sorted(glob.glob(sys.argv[1] + "/kubernetes_validate-*.whl"))[-1]\n' +
        'zipfile.ZipFile(wheel).extractall(sys.argv[2], sys.argv[3:])',
      download,
      download,
      ...names,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const definitions = JSON.parse(readFileSync(path.join(download, prefix, '_definitions.json'), 'utf8')).$defs;
  mkdirSync(dir, { recursive: true });
  for (const kind of KINDS) {
    const root = JSON.parse(readFileSync(path.join(download, prefix, `${kind}.json`), 'utf8'));
    const used = new Set();
    const schema = localizeRefs(root, used);
    delete schema.$id;
    const defs = {};
    const pending = [...used];
    while (pending.length > 0) {
      const name = pending.pop();
      if (name in defs) continue;
      if (!(name in definitions)) throw new Error(`${kind}: definition ${name} not found`);
      const found = new Set();
      defs[name] = localizeRefs(definitions[name], found);
      for (const next of found) if (!(next in defs)) pending.push(next);
    }
    schema.$defs = defs;
    writeFileSync(path.join(dir, `${kind}.json`), JSON.stringify(schema));
  }
  log(`schemas for ${KINDS.join(', ')} in ${dir}`);
  return dir;
}

const targets = process.argv.slice(2);
const kubeconform = ensureKubeconform();
const schemas = ensureSchemas();
const result = spawnSync(
  kubeconform,
  [
    '-strict',
    '-summary',
    '-output',
    'text',
    '-kubernetes-version',
    KUBERNETES_VERSION,
    '-schema-location',
    `${schemas}/{{.ResourceKind}}{{.KindSuffix}}.json`,
    // kustomization.yaml is kustomize's, not an API object.
    '-ignore-filename-pattern',
    'kustomization\\.yaml$',
    ...(targets.length > 0 ? targets : [path.join(ROOT, 'deploy', 'kubernetes')]),
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
