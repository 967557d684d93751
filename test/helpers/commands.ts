// Records for delivery tests: written to Kafka with key, headers and timestamp as a backend would.
import { Producer, type MessageToProduce } from '@platformatic/kafka';
import mqtt from 'mqtt';

export interface CommandRecord {
  readonly key?: string;
  readonly value: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
  readonly partition?: number;
  /** Milliseconds since the epoch (CreateTime). */
  readonly timestamp?: number;
}

export class CommandProducer {
  private readonly producer: Producer;

  constructor(brokers: readonly string[]) {
    this.producer = new Producer({ clientId: 'mkp-test-commands', bootstrapBrokers: [...brokers], retries: 5, retryDelay: 200 });
  }

  async send(topic: string, records: readonly CommandRecord[]): Promise<void> {
    const messages: MessageToProduce[] = records.map((r) => ({
      topic,
      value: Buffer.from(r.value),
      ...(r.key !== undefined && { key: Buffer.from(r.key) }),
      ...(r.partition !== undefined && { partition: r.partition }),
      ...(r.timestamp !== undefined && { timestamp: BigInt(r.timestamp) }),
      ...(r.headers !== undefined && { headers: new Map(Object.entries(r.headers).map(([n, v]) => [Buffer.from(n), Buffer.from(v)])) }),
    }));
    // At most 200 a request: 200 records of 4 KiB stay below the broker's 1 MiB request limit.
    for (let i = 0; i < messages.length; i += 200) await this.producer.send({ messages: messages.slice(i, i + 200), acks: -1 });
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}

export interface Received {
  readonly topic: string;
  readonly payload: string;
  readonly packet: mqtt.IPublishPacket;
}

/** An MQTT.js client that keeps every message it gets. */
export async function subscriber(
  url: string,
  filters: Readonly<Record<string, mqtt.IClientSubscribeOptions>>,
  options: mqtt.IClientOptions = {},
  subscribeProperties?: mqtt.IClientSubscribeProperties,
): Promise<{ client: mqtt.MqttClient; received: Received[]; granted: mqtt.ISubscriptionGrant[] }> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 10_000, ...options });
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), packet }));
  const granted = Object.keys(filters).length === 0 ? [] : await subscribeCodes(client, filters, subscribeProperties);
  return { client, received, granted };
}

/** The SUBACK's codes, one per filter, also when some were refused (MQTT.js then rejects with the packet). */
async function subscribeCodes(
  client: mqtt.MqttClient,
  filters: Readonly<Record<string, mqtt.IClientSubscribeOptions>>,
  subscribeProperties: mqtt.IClientSubscribeProperties | undefined,
): Promise<mqtt.ISubscriptionGrant[]> {
  try {
    return await client.subscribeAsync(filters as mqtt.ISubscriptionMap, subscribeProperties);
  } catch (error) {
    const granted = (error as { packet?: { granted?: number[] } }).packet?.granted;
    if (granted === undefined) throw error;
    return Object.keys(filters).map((topic, i) => ({ topic, qos: granted[i]! as mqtt.ISubscriptionGrant['qos'] }));
  }
}
