/**
 * What `map` is asked: an MQTT topic (ingest: where would a PUBLISH go?) or, with `--kafka`, a
 * Kafka record (delivery: which MQTT message would subscribers get?). Usage mistakes are
 * UsageErrors (exit 2).
 */
import type { DeliveryInput } from '../mapping/types.js';
import { UsageError, type RawArguments } from './arguments.js';

export type MapRequest =
  | { readonly direction: 'ingest'; readonly topic: string; readonly clientId: string; readonly username: string | undefined }
  | { readonly direction: 'delivery'; readonly input: DeliveryInput };

/** `name=value` -> the header as Kafka carries it; the value may be empty, the name may not. */
function header(text: string): readonly [Buffer, Buffer] {
  const equals = text.indexOf('=');
  if (equals <= 0) throw new UsageError(`--header: expected name=value, got "${text}"`);
  return [Buffer.from(text.slice(0, equals)), Buffer.from(text.slice(equals + 1))];
}

export function mapRequestFrom(args: RawArguments, now: number): MapRequest {
  if (args.kafka === undefined) {
    if (args.topic === undefined) throw new UsageError('map: give an MQTT topic (map TOPIC), or a Kafka record (map --kafka TOPIC --key K)');
    for (const flag of ['key', 'header'] as const) {
      if (args[flag] !== undefined) throw new UsageError(`map: --${flag} describes a Kafka record and needs --kafka`);
    }
    return { direction: 'ingest', topic: args.topic, clientId: args.clientId ?? '', username: args.username };
  }
  if (args.topic !== undefined) throw new UsageError(`map: give either an MQTT topic or --kafka, not both (got "${args.topic}" and --kafka ${args.kafka})`);
  const partition = args.partition ?? 0;
  if (!Number.isInteger(partition) || partition < 0) throw new UsageError(`--partition: expected a partition number, got ${String(args.partition)}`);
  return {
    direction: 'delivery',
    input: {
      kafkaTopic: args.kafka,
      partition,
      key: args.key === undefined ? null : Buffer.from(args.key),
      headers: (args.header ?? []).map(header),
      timestamp: now,
    },
  };
}
