// The deployment files: Kubernetes manifests (kubeconform, strict, offline schemas), their
// consistency with the proxy's own config and drain, the Grafana dashboard against the metric
// registry, and the Dockerfile and docker-compose.yml read as text (no container engine here).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { ROOT } from '../helpers/cli.js';

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

  it("the ConfigMap's topic-mappings.yaml passes the proxy's own validation", () => {
    const text = one('ConfigMap').data['topic-mappings.yaml'] as string;
    const config = parseConfig(text, 'configmap topic-mappings.yaml');
    assert.equal(config.http.port, 9090);
    assert.equal(config.reload.watch, true);
  });

  it('probes, ports, grace period and volumes agree with the config and the drain', () => {
    const config = parseConfig(one('ConfigMap').data['topic-mappings.yaml'] as string, 'configmap');
    const deployment = one('Deployment');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const ports = Object.fromEntries((container.ports as Doc[]).map((p) => [p.name, p.containerPort]));
    assert.deepEqual(ports, { mqtt: 1883, mqtts: 8883, wss: 8080, admin: config.http.port });
    assert.equal(ports.mqtt, config.listeners[0]!.port);
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'admin' });
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'admin' });
    const preStopSeconds = Number(container.lifecycle.preStop.exec.command[1]);
    const needed = preStopSeconds + (config.drain.delayMs + config.drain.timeoutMs) / 1000;
    assert.ok(pod.terminationGracePeriodSeconds > needed, `grace ${pod.terminationGracePeriodSeconds} s > preStop + drain ${needed} s`);
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
  it('Dockerfile: multi-stage node:22-slim, production deps, non-root, healthcheck on /healthz, ports, config volume', () => {
    const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    assert.equal(text.match(/^FROM node:22-slim/gm)?.length, 2);
    assert.match(text, /npm ci --omit=dev/);
    assert.match(text, /^USER node$/m);
    assert.match(text, /^HEALTHCHECK .*\n?.*\/healthz/m);
    assert.match(text, /^EXPOSE 1883 8883 8080 9090$/m);
    assert.match(text, /^VOLUME \["\/config"\]$/m);
    assert.match(text, /^ENTRYPOINT \["node", "bin\/mqtt-kafka-proxy"\]$/m);
    // The healthcheck's JavaScript runs as written.
    const script = /"node", "-e", "(.+)"\]/.exec(text)?.[1];
    assert.ok(script, 'a node -e healthcheck');
    assert.doesNotThrow(() => new Function(script.replace(/\\"/g, '"')));
  });

  it('docker-compose.yml: KRaft Kafka from apache/kafka, topics created, proxy built here with the config mounted', () => {
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as Doc;
    assert.match(compose.services.kafka.image, /^apache\/kafka:4\./);
    assert.equal(compose.services.kafka.environment.KAFKA_PROCESS_ROLES, 'broker,controller');
    assert.equal(compose.services.proxy.build, '.');
    assert.ok((compose.services.proxy.volumes as string[]).some((v) => v.endsWith(':/config/topic-mappings.yaml:ro')));
    assert.equal(compose.services.proxy.depends_on['kafka-init'].condition, 'service_completed_successfully');
    const sample = parseConfig(readFileSync(join(ROOT, 'topic-mappings.yaml'), 'utf8'), 'topic-mappings.yaml');
    const created = String(compose.services['kafka-init'].command[0]);
    for (const topic of [...sample.mappings.map((m) => m.topic), sample.unmapped.action === 'topic' ? sample.unmapped.topic : '']) {
      if (topic !== '') assert.ok(created.includes(topic), `kafka-init creates ${topic}`);
    }
  });
});
