// Reads a fault test's topic back and compares it with what the devices saw acknowledged.
import { parseDevicePayload, type Device } from './device.js';
import { readRecords, topicOffsets, type ReadRecord } from './kafka.js';

export interface DeliveryReport {
  /** Messages the devices created. */
  readonly sent: number;
  /** PUBLISH packets written, retransmissions included. */
  readonly publishes: number;
  /** Distinct messages acknowledged to the devices. */
  readonly acked: number;
  /** Records in the topic. */
  readonly records: number;
  /** Distinct (client id, seq) in the topic. */
  readonly found: number;
  /** Acknowledged and not in Kafka: must be 0. */
  readonly missing: number;
  /** Records beyond the first of each (client id, seq). */
  readonly duplicates: number;
  /** Some of the missing ones, for the failure message. */
  readonly missingExamples: readonly string[];
  /** Some of the duplicated ones (client id:seq x count). */
  readonly duplicateExamples: readonly string[];
}

/**
 * Every record of the topic up to each partition's end offset as it is now, each once: a consumer
 * may be handed a record again (a rebalance), so records are kept by partition and offset.
 */
export async function readWholeTopic(topic: string, brokers: readonly string[]): Promise<{ total: number; records: ReadRecord[] }> {
  const offsets = await topicOffsets(topic, brokers);
  const total = offsets.reduce((n, p) => n + (p.high - p.low), 0);
  if (total === 0) return { total, records: [] };
  const end = new Map(offsets.map((p) => [p.partition, p.high]));
  const byPosition = new Map<string, ReadRecord>();
  // Called once per record read, with every record so far: the newest is the one to keep.
  const keep = (records: readonly ReadRecord[]): boolean => {
    const record = records.at(-1)!;
    if (Number(record.offset) < (end.get(record.partition) ?? 0)) byPosition.set(`${record.partition}/${record.offset}`, record);
    return byPosition.size >= total;
  };
  await readRecords(topic, total, { brokers, timeoutMs: 180_000, settleMs: 0, until: keep });
  return { total, records: [...byPosition.values()] };
}

export async function deliveryReport(topic: string, devices: readonly Device[], brokers: readonly string[]): Promise<DeliveryReport> {
  const { total, records } = await readWholeTopic(topic, brokers);
  if (records.length < total) throw new Error(`read ${records.length} of ${total} records of ${topic}`);
  const seen = new Map<string, number>();
  for (const record of records) {
    const id = parseDevicePayload(record.value);
    if (id === undefined) continue;
    const key = `${id.clientId}:${id.seq}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  let acked = 0;
  let missing = 0;
  const missingExamples: string[] = [];
  for (const device of devices) {
    for (const seq of device.acked.keys()) {
      acked++;
      const key = `${device.options.clientId}:${seq}`;
      if (!seen.has(key)) {
        missing++;
        if (missingExamples.length < 10) missingExamples.push(key);
      }
    }
  }
  if (missingExamples.length > 0 && process.env.FAULTS_DEBUG) {
    const clientId = missingExamples[0]!.split(':')[0]!;
    const seqs = records
      .map((r) => ({ id: parseDevicePayload(r.value), partition: r.partition, offset: r.offset }))
      .filter((x) => x.id?.clientId === clientId);
    console.log(`${clientId} in Kafka: ${seqs.map((x) => `${x.id!.seq}@${x.partition}/${x.offset}`).join(' ')}`);
  }
  let duplicates = 0;
  const duplicateExamples: string[] = [];
  for (const [key, count] of seen) {
    duplicates += count - 1;
    if (count > 1 && duplicateExamples.length < 10) duplicateExamples.push(`${key} x${count}`);
  }
  return {
    sent: devices.reduce((n, d) => n + d.sent, 0),
    publishes: devices.reduce((n, d) => n + d.publishes, 0),
    acked,
    records: records.length,
    found: seen.size,
    missing,
    duplicates,
    missingExamples,
    duplicateExamples,
  };
}

/** One line for the test output (and the README's figures). */
export function formatReport(scenario: string, report: DeliveryReport, extra = ''): string {
  const { sent, publishes, acked, records, found, missing, duplicates } = report;
  return `[faults] ${scenario}: sent=${sent} publishes=${publishes} acked=${acked} records=${records} found=${found} missing=${missing} duplicates=${duplicates}${extra === '' ? '' : ` ${extra}`}`;
}
