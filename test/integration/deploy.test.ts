// The deployment files: Kubernetes manifests (kubeconform, strict, offline schemas), their
// consistency with the proxy's own config and drain, the Grafana dashboard against the metric
// registry, and the Dockerfile and docker-compose.yml read as text (no container engine here).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { DRAIN_WATCHDOG_SLACK_MS } from '../../src/cli.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { loadConfig, parseConfig } from '../../src/server/load-config.js';
import type { ProxyConfig } from '../../src/config/types.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { TestCertificates } from '../helpers/certs.js';
import { ROOT, freePort } from '../helpers/cli.js';

const K8S = join(ROOT, 'deploy', 'kubernetes');
const VALIDATE = join(ROOT, 'scripts', 'kubernetes-validate.mjs');

// Manifests are free-form YAML; the assertions check the shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;

function manifests(): Doc[] {
  const docs: Doc[] = [];
  for (const file of ['configmap.yaml', 'deployment.yaml', 'service.yaml', 'poddisruptionbudget.yaml', 'horizontalpodautoscaler.yaml']) {
    for (const doc of parseAllDocuments(readFileSync(join(K8S, file), 'utf8'))) docs.push(doc.toJS() as Doc);
  }
  return docs;
}
const byKind = (kind: string): Doc[] => manifests().filter((d) => d.kind === kind);
const one = (kind: string): Doc => {
  const found = byKind(kind);
  assert.ok(found.length >= 1, `a ${kind}`);
  return found[0]!;
};

/** The ConfigMap's topic-mappings.yaml as text. */
const configMapText = (): string => one('ConfigMap').data['topic-mappings.yaml'] as string;

/** Every string in a parsed YAML value (the paths a config names, wherever they are). */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

/** The Deployment's Secret volumes with where the container mounts them. */
function secretMounts(): Array<{ secretName: string; mountPath: string; optional: boolean }> {
  const pod = one('Deployment').spec.template.spec;
  const volumes = new Map((pod.volumes as Doc[]).map((v) => [v.name as string, v]));
  const mounts: Array<{ secretName: string; mountPath: string; optional: boolean }> = [];
  for (const mount of pod.containers[0].volumeMounts as Doc[]) {
    const secret = volumes.get(mount.name)?.secret as Doc | undefined;
    if (secret !== undefined) mounts.push({ secretName: secret.secretName, mountPath: mount.mountPath, optional: secret.optional === true });
  }
  return mounts;
}

/** `kubectl create secret tls` makes these keys. */
const TLS_SECRET_KEYS = ['tls.crt', 'tls.key'];

/** Listener ports of a config, by protocol. */
const listenerPorts = (config: ProxyConfig): number[] => config.listeners.map((l) => l.port);

function validate(...targets: string[]) {
  return spawnSync(process.execPath, [VALIDATE, ...targets], { encoding: 'utf8', timeout: 540_000 });
}

describe('Kubernetes manifests', () => {
  it('pass kubeconform -strict against the Kubernetes schemas', { timeout: 600_000 }, () => {
    const result = validate();
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /Summary: 6 resources found in 5 files - Valid: 6, Invalid: 0, Errors: 0, Skipped: 0/, result.stdout);
  });

  it('kubeconform refuses an unknown field and a wrong type (the validation is strict)', { timeout: 600_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'mkp-k8s-'));
    try {
      const deployment = readFileSync(join(K8S, 'deployment.yaml'), 'utf8');
      writeFileSync(join(dir, 'unknown.yaml'), deployment.replace('      automountServiceAccountToken: false', '      automountServiceAccountToken: false\n      hostNetworking: true'));
      writeFileSync(join(dir, 'type.yaml'), deployment.replace('replicas: 3', 'replicas: three'));
      const result = validate(dir);
      assert.equal(result.status, 1, result.stdout);
      assert.match(result.stdout, /additional properties 'hostNetworking' not allowed/);
      assert.match(result.stdout, /\/spec\/replicas': got string/);
      assert.match(result.stdout, /Invalid: 2/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The ConfigMap config as the pod loads it: the mounted Secrets' paths pointed at generated files.
  let certificates: TestCertificates;
  let config: ProxyConfig;
  before(() => {
    certificates = new TestCertificates();
    const ca = certificates.createCa('k8s-ca');
    const server = certificates.issueServer(ca, 'k8s-server');
    let text = configMapText();
    for (const { secretName, mountPath } of secretMounts()) {
      const dir = join(certificates.dir, secretName);
      mkdirSync(dir);
      copyFileSync(server.certFile, join(dir, 'tls.crt'));
      copyFileSync(server.keyFile, join(dir, 'tls.key'));
      text = text.replaceAll(`${mountPath}/`, `${dir}/`);
    }
    const file = join(certificates.dir, 'topic-mappings.yaml');
    writeFileSync(file, text);
    config = loadConfig(file);
  });
  after(() => certificates?.remove());

  it("the ConfigMap's topic-mappings.yaml passes the proxy's own loader, certificates included", () => {
    assert.equal(config.http.port, 9090);
    assert.equal(config.reload.watch, true);
    assert.deepEqual(
      config.listeners.map((l) => [l.protocol, l.port, l.tls === undefined ? 'plain' : 'tls']),
      [['tcp', 1883, 'plain'], ['tls', 8883, 'tls'], ['wss', 8080, 'tls']],
    );
  });

  it('every Service port and container port reaches a listener of the ConfigMap config (or the admin server)', () => {
    const container = one('Deployment').spec.template.spec.containers[0];
    const containerPorts = new Map((container.ports as Doc[]).map((p) => [p.name as string, p.containerPort as number]));
    const served = new Set([...listenerPorts(config), config.http.port]);
    for (const [name, port] of containerPorts) assert.ok(served.has(port), `container port ${name} (${port}) has a listener`);
    for (const service of byKind('Service')) {
      for (const port of service.spec.ports as Doc[]) {
        const target = typeof port.targetPort === 'number' ? port.targetPort : containerPorts.get(port.targetPort);
        assert.ok(target !== undefined, `Service ${service.metadata.name} port ${port.port}: targetPort ${port.targetPort} is a container port`);
        assert.ok(served.has(target), `Service ${service.metadata.name} port ${port.port} -> ${target}: no listener in the ConfigMap config`);
      }
    }
    // And every listener is reachable from outside the pod.
    for (const port of listenerPorts(config)) assert.ok([...containerPorts.values()].includes(port), `listener port ${port} is a container port`);
  });

  it('every mounted Secret is used by the ConfigMap config, through the keys the Secret has', () => {
    const mounts = secretMounts();
    assert.ok(mounts.length >= 1, 'the TLS Secret is mounted');
    const named = stringsIn(parse(configMapText()));
    for (const { secretName, mountPath, optional } of mounts) {
      const used = named.filter((value) => value.startsWith(`${mountPath}/`));
      assert.ok(used.length > 0, `Secret ${secretName} is mounted at ${mountPath}, but the config reads nothing from there`);
      for (const path of used) assert.ok(TLS_SECRET_KEYS.includes(path.slice(mountPath.length + 1)), `${path} is a key of a kubernetes.io/tls Secret`);
      // The listeners cannot start without the files: the pod must wait for the Secret, not crash.
      assert.equal(optional, false, `Secret ${secretName} is required`);
    }
  });

  it('probes, ports, grace period and volumes agree with the config and the drain', () => {
    const deployment = one('Deployment');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const ports = Object.fromEntries((container.ports as Doc[]).map((p) => [p.name, p.containerPort]));
    assert.deepEqual(ports, { mqtt: 1883, mqtts: 8883, wss: 8080, admin: config.http.port });
    assert.equal(ports.mqtt, config.listeners[0]!.port);
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'admin' });
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'admin' });
    // SIGKILL must not come before the proxy's own watchdog gives up on the drain.
    const preStopSeconds = Number(container.lifecycle.preStop.exec.command[1]);
    const needed = preStopSeconds + (config.drain.delayMs + config.drain.timeoutMs + DRAIN_WATCHDOG_SLACK_MS) / 1000;
    assert.ok(pod.terminationGracePeriodSeconds > needed, `grace ${pod.terminationGracePeriodSeconds} s > preStop + drain + watchdog slack ${needed} s`);
    assert.deepEqual(container.args, ['--config', '/config/topic-mappings.yaml']);
    assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
    // Security: non-root, read-only root, no capabilities, no privilege escalation.
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.ok(container.resources.requests.cpu && container.resources.limits.memory);
    const volumes = Object.fromEntries((pod.volumes as Doc[]).map((v) => [v.name, v]));
    assert.equal(volumes.config.configMap.name, one('ConfigMap').metadata.name);
    assert.equal(volumes.tls.secret.secretName, 'mqtt-kafka-proxy-tls');
  });

  it('Services, PodDisruptionBudget and HorizontalPodAutoscaler select the Deployment', () => {
    const deployment = one('Deployment');
    const labels = deployment.spec.template.metadata.labels as Record<string, string>;
    const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    const [lb, admin] = byKind('Service');
    assert.equal(lb!.spec.type, 'LoadBalancer');
    assert.deepEqual((lb!.spec.ports as Doc[]).map((p) => [p.port, p.targetPort]), [[1883, 'mqtt'], [8883, 'mqtts'], [443, 'wss']]);
    assert.ok(matches(lb!.spec.selector));
    assert.equal(admin!.spec.type, 'ClusterIP');
    assert.ok(matches(admin!.spec.selector));
    assert.ok(matches(one('PodDisruptionBudget').spec.selector.matchLabels));
    const hpa = one('HorizontalPodAutoscaler');
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas > hpa.spec.minReplicas);
  });
});

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana', 'dashboard.json'), 'utf8')) as Doc;

  /** Every series name the proxy's registry exports, histograms with their _bucket/_sum/_count. */
  async function exportedNames(): Promise<Set<string>> {
    const metrics = createMetrics();
    const names = new Set<string>();
    for (const metric of await metrics.registry.getMetricsAsJSON()) {
      names.add(metric.name);
      if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    }
    return names;
  }

  it('every metric a panel or variable queries exists in the registry', async () => {
    const names = await exportedNames();
    const expressions: string[] = [];
    for (const panel of dashboard.panels as Doc[]) for (const target of (panel.targets ?? []) as Doc[]) expressions.push(target.expr);
    for (const variable of dashboard.templating.list as Doc[]) if (variable.type === 'query') expressions.push(variable.definition);
    assert.ok(expressions.length >= 20, `${expressions.length} queries`);
    const queried = new Set<string>();
    for (const expression of expressions) {
      for (const match of expression.matchAll(/\b((?:mqtt_kafka_proxy|process|nodejs)_[a-z0-9_]+)\b/g)) queried.add(match[1]!);
    }
    const missing = [...queried].filter((name) => !names.has(name));
    assert.deepEqual(missing, [], 'queried but not exported');
    // And the other way: every proxy metric is on the dashboard.
    const proxyMetrics = [...names].filter((n) => n.startsWith('mqtt_kafka_proxy_') && !/_(sum|count)$/.test(n) && !n.endsWith('_seconds'));
    const unseen = proxyMetrics.filter((name) => !queried.has(name));
    assert.deepEqual(unseen, [], 'exported but not on the dashboard');
  });

  it('panels have unique ids and a Prometheus data source variable', () => {
    const ids = (dashboard.panels as Doc[]).map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok((dashboard.templating.list as Doc[]).some((v) => v.type === 'datasource' && v.query === 'prometheus'));
    assert.equal(dashboard.uid, 'mqtt-kafka-proxy');
  });
});

describe('container files (read, not built: no container engine here)', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const sample = parseConfig(readFileSync(join(ROOT, 'topic-mappings.yaml'), 'utf8'), 'topic-mappings.yaml');
  /** The HEALTHCHECK's `node -e` script, unescaped from the JSON-form CMD. */
  const healthcheckScript = (): string => {
    const script = /^HEALTHCHECK [^\n]*\\\n\s*CMD \["node", "-e", "(.+)"\]$/m.exec(dockerfile)?.[1];
    assert.ok(script, 'a node -e healthcheck');
    return JSON.parse(`"${script}"`) as string;
  };

  it('Dockerfile: multi-stage node:22-slim, production deps, non-root, healthcheck on /healthz, config volume', () => {
    assert.equal(dockerfile.match(/^FROM node:22-slim/gm)?.length, 2);
    assert.match(dockerfile, /npm ci --omit=dev/);
    assert.match(dockerfile, /^USER node$/m);
    assert.match(healthcheckScript(), /\/healthz/);
    assert.match(dockerfile, /^VOLUME \["\/config"\]$/m);
    assert.match(dockerfile, /^ENTRYPOINT \["node", "bin\/mqtt-kafka-proxy"\]$/m);
    assert.match(dockerfile, /^CMD \["--config", "\/config\/topic-mappings.yaml"\]$/m);
  });

  it('Dockerfile: EXPOSE lists exactly the ports of the sample config, the Kubernetes ConfigMap and the admin server', () => {
    const exposed = /^EXPOSE ([0-9 ]+)$/m.exec(dockerfile)?.[1]?.split(' ').map(Number);
    assert.ok(exposed, 'an EXPOSE line');
    const configMap = parse(configMapText()) as Doc;
    const configMapPorts = (configMap.listeners as Doc[]).map((l) => l.port as number);
    const wanted = new Set([...listenerPorts(sample), ...configMapPorts, sample.http.port, DEFAULTS.http.port]);
    assert.deepEqual([...exposed].sort((a, b) => a - b), [...wanted].sort((a, b) => a - b));
  });

  it("Dockerfile: the healthcheck asks MKP_HTTP_PORT, else the proxy's admin port default", async () => {
    // Not set by the image: the variable would override http.port from the mounted file.
    assert.doesNotMatch(dockerfile, /^ENV MKP_HTTP_PORT/m);
    assert.match(healthcheckScript(), new RegExp(`process\\.env\\.MKP_HTTP_PORT \\|\\| ${DEFAULTS.http.port}\\b`));
    // Run it as Docker would, against a /healthz on another port, and with nothing listening.
    const server = createServer((request, response) => {
      response.statusCode = request.url === '/healthz' ? 200 : 404;
      response.end('ok\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const healthy = (server.address() as AddressInfo).port;
    const unused = await freePort();
    const run = (port: number) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['-e', healthcheckScript()], { env: { ...process.env, MKP_HTTP_PORT: String(port) }, stdio: 'ignore' });
        child.once('exit', (code) => resolve(code));
      });
    try {
      assert.equal(await run(healthy), 0, 'healthy on the port MKP_HTTP_PORT names');
      assert.equal(await run(unused), 1, 'unhealthy when nothing answers there');
    } finally {
      server.close();
    }
  });

  it('docker-compose.yml: KRaft Kafka from apache/kafka, topics created, proxy built here with the config mounted', () => {
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as Doc;
    assert.match(compose.services.kafka.image, /^apache\/kafka:4\./);
    assert.equal(compose.services.kafka.environment.KAFKA_PROCESS_ROLES, 'broker,controller');
    assert.equal(compose.services.proxy.build, '.');
    assert.ok((compose.services.proxy.volumes as string[]).some((v) => v.endsWith(':/config/topic-mappings.yaml:ro')));
    assert.equal(compose.services.proxy.depends_on['kafka-init'].condition, 'service_completed_successfully');
    const created = String(compose.services['kafka-init'].command[0]);
    for (const topic of [...sample.mappings.map((m) => m.topic), sample.unmapped.action === 'topic' ? sample.unmapped.topic : '']) {
      if (topic !== '') assert.ok(created.includes(topic), `kafka-init creates ${topic}`);
    }
  });

  it('docker-compose.yml: publishes every listener of the sample config and the admin server; outlasts the drain', () => {
    const proxy = (parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as Doc).services.proxy;
    const published = (proxy.ports as string[]).map((mapping) => {
      const [host, container] = mapping.split(':').map(Number);
      assert.equal(host, container, `${mapping}: the same port outside`);
      return container!;
    });
    assert.deepEqual(published.sort((a, b) => a - b), [...listenerPorts(sample), sample.http.port].sort((a, b) => a - b));
    const grace = /^(\d+)s$/.exec(String(proxy.stop_grace_period))?.[1];
    assert.ok(grace !== undefined, `stop_grace_period in seconds: ${proxy.stop_grace_period}`);
    const needed = (sample.drain.delayMs + sample.drain.timeoutMs + DRAIN_WATCHDOG_SLACK_MS) / 1000;
    assert.ok(Number(grace) > needed, `stop_grace_period ${grace} s > drain + watchdog slack ${needed} s`);
  });
});
