// The HTTP ingest rows of the bench: HTTP single messages and batches of 100 on keep-alive
// connections, beside MQTT QoS 1 and the direct producer, all on the same proxy and config in one run.

/** Rows run in this order; `inFlight` is what each keeps outstanding in total. */
export const HTTP_ROWS = [
  { target: 'mqtt qos1', script: 'loadgen.mjs', connections: 10, note: '10 connections × window 100' },
  { target: 'http single', script: 'http-loadgen.mjs', connections: 100, batch: 1, note: '100 keep-alive connections × 1 request' },
  { target: 'http batch 100', script: 'http-loadgen.mjs', connections: 10, batch: 100, note: '10 keep-alive connections × 1 request of 100' },
  { target: 'direct', script: 'direct-producer.mjs', connections: 10, note: 'acks=all, 1,000 outstanding' },
];

/**
 * `h`: what the bench's main run provides (runLoad, the proxy's pids, its config, ports, plan).
 * Returns one result per row.
 */
export async function httpBench(h) {
  const rows = [];
  for (const row of HTTP_ROWS) {
    h.log(`http ${row.target}`);
    const timing = { warmupMs: h.plan.warmupMs, durationMs: h.plan.durationMs };
    let r;
    if (row.script === 'loadgen.mjs') {
      r = await h.runLoad('loadgen.mjs', { ...timing, mode: 'throughput', qos: 1, payloadSize: 100, connections: row.connections, window: 100, port: h.mqttPort, clientPrefix: 'http-bench-mqtt' }, h.measured(), h.admin);
    } else if (row.script === 'http-loadgen.mjs') {
      r = await h.runLoad('http-loadgen.mjs', { ...timing, port: h.httpPort, connections: row.connections, batch: row.batch, payloadSize: 100, clientPrefix: `http-bench-${row.batch}` }, h.measured(), h.admin);
    } else {
      r = await h.runLoad('direct-producer.mjs', { ...timing, mode: 'throughput', config: h.configFile, qos: 1, payloadSize: 100, devices: row.connections, outstanding: row.connections * 100 }, { ...h.kafkaPid }, h.admin);
    }
    const cpu = row.script === 'direct-producer.mjs' ? r.cpu.load : h.serverCpu(r.cpu);
    rows.push({ ...row, rate: r.acked / r.seconds, cpuPer100k: h.perHundredK(cpu, r.acked), loadCpuPer100k: h.perHundredK(r.cpu.load, r.acked), errors: r.errors ?? 0, landedRate: r.landedRate, raw: r });
    if (row.script !== 'direct-producer.mjs') await h.proxyIdle();
  }
  return rows;
}

export function httpMarkdown(rows, fmt) {
  const mqtt = rows.find((r) => r.target === 'mqtt qos1');
  const direct = rows.find((r) => r.target === 'direct');
  const lines = ['', '### HTTP ingest beside MQTT QoS 1 and the direct producer (100 B, the same proxy and config)', ''];
  lines.push('Rate = messages/s answered 200 (HTTP), PUBACKed (MQTT) or acked by Kafka (direct). CPU = user+sys s per 100k messages of the proxy (direct: its own process).');
  lines.push('');
  lines.push('| target | load | rate | ÷ MQTT QoS 1 | CPU s/100k | ÷ MQTT QoS 1 | ÷ direct | errors |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const ratio = (x, y) => (x === null || y === null || y === undefined ? '–' : fmt(x / y, 2));
    lines.push(`| ${r.target} | ${r.note} | ${fmt(r.rate)} | ${ratio(r.rate, mqtt?.rate)} | ${fmt(r.cpuPer100k, 2)} | ${ratio(r.cpuPer100k, mqtt?.cpuPer100k)} | ${ratio(r.cpuPer100k, direct?.cpuPer100k)} | ${r.errors} |`);
  }
  return `${lines.join('\n')}\n`;
}
