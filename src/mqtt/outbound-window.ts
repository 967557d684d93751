// Interim version of the module the `outbound` branch owns: the shapes the engine codes against,
// with a plain implementation (no topic aliases). Replaced by that branch's file when merged.
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import type { ProtocolVersion, PublishProperties, QoS } from './types.js';

export interface OutboundProperties extends PublishProperties {
  readonly subscriptionIdentifiers?: readonly number[];
}

export interface OutboundMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties?: OutboundProperties;
  readonly token?: unknown;
}

export type OfferOutcome = 'sent' | 'queued' | 'too-large' | 'queue-full';

export interface AckResult {
  readonly acknowledged: OutboundMessage | undefined;
  readonly packets: Packet[];
  readonly error: string | undefined;
}

export interface OutboundWindowOptions {
  readonly receiveMaximum: number;
  readonly maximumPacketSize: number | undefined;
  readonly topicAliasMaximum: number;
  readonly protocolVersion: ProtocolVersion;
  readonly maxQueued: number;
}

interface InFlight {
  readonly message: OutboundMessage;
  state: 'sent' | 'released';
}

export class OutboundWindow {
  private readonly inFlight = new Map<number, InFlight>();
  private readonly waiting: OutboundMessage[] = [];
  private nextId = 1;
  private isWritable = true;

  constructor(private readonly options: OutboundWindowOptions) {}

  get inflight(): number {
    return this.inFlight.size;
  }

  get queued(): number {
    return this.waiting.length;
  }

  get writable(): boolean {
    return this.isWritable;
  }

  set writable(value: boolean) {
    this.isWritable = value;
  }

  /** Writable again: what the window lets out now. */
  setWritable(value: boolean): Packet[] {
    this.isWritable = value;
    return value ? this.release() : [];
  }

  offer(message: OutboundMessage): { outcome: OfferOutcome; packets: Packet[] } {
    if (this.tooLarge(message)) return { outcome: 'too-large', packets: [] };
    if (message.qos === 0 && this.isWritable) return { outcome: 'sent', packets: [this.publish(message, undefined)] };
    if (this.waiting.length >= this.options.maxQueued) return { outcome: 'queue-full', packets: [] };
    this.waiting.push(message);
    const packets = this.release();
    return { outcome: this.waiting.includes(message) ? 'queued' : 'sent', packets };
  }

  onPuback(packetId: number): AckResult {
    return this.complete(packetId, 1);
  }

  onPubrec(packetId: number, reasonCode: number): AckResult {
    const entry = this.inFlight.get(packetId);
    if (entry === undefined || entry.message.qos !== 2 || entry.state !== 'sent') return { acknowledged: undefined, packets: [], error: `PUBREC for packet identifier ${packetId}, not in flight` };
    if (reasonCode >= 0x80) return this.complete(packetId, 2);
    entry.state = 'released';
    return { acknowledged: undefined, packets: [{ cmd: 'pubrel', messageId: packetId }], error: undefined };
  }

  onPubcomp(packetId: number): AckResult {
    const entry = this.inFlight.get(packetId);
    if (entry === undefined || entry.state !== 'released') return { acknowledged: undefined, packets: [], error: `PUBCOMP for packet identifier ${packetId}, not released` };
    return this.complete(packetId, 2);
  }

  resume(): Packet[] {
    const packets: Packet[] = [];
    for (const [id, entry] of this.inFlight) {
      packets.push(entry.state === 'released' ? { cmd: 'pubrel', messageId: id } : { ...this.publish(entry.message, id), dup: true });
    }
    return packets;
  }

  snapshot(): ReadonlyArray<{ packetId: number | undefined; state: 'queued' | 'sent' | 'released'; message: OutboundMessage }> {
    return [
      ...[...this.inFlight].map(([packetId, e]) => ({ packetId, state: e.state, message: e.message })),
      ...this.waiting.map((message) => ({ packetId: undefined, state: 'queued' as const, message })),
    ];
  }

  private complete(packetId: number, qos: QoS): AckResult {
    const entry = this.inFlight.get(packetId);
    if (entry === undefined || entry.message.qos !== qos) return { acknowledged: undefined, packets: [], error: `acknowledgement for packet identifier ${packetId}, not in flight` };
    this.inFlight.delete(packetId);
    return { acknowledged: entry.message, packets: this.release(), error: undefined };
  }

  private release(): Packet[] {
    const packets: Packet[] = [];
    while (this.isWritable && this.waiting.length > 0) {
      const message = this.waiting[0]!;
      if (message.qos > 0 && this.inFlight.size >= this.options.receiveMaximum) break;
      this.waiting.shift();
      if (message.qos === 0) {
        packets.push(this.publish(message, undefined));
        continue;
      }
      const id = this.allocateId();
      this.inFlight.set(id, { message, state: 'sent' });
      packets.push(this.publish(message, id));
    }
    return packets;
  }

  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 65535 ? 1 : id + 1;
      if (!this.inFlight.has(id)) return id;
    }
  }

  private publish(message: OutboundMessage, messageId: number | undefined): IPublishPacket {
    const { subscriptionIdentifiers, ...rest } = message.properties ?? {};
    const properties = this.options.protocolVersion === 5 && message.properties !== undefined
      ? { ...rest, ...(subscriptionIdentifiers !== undefined && { subscriptionIdentifier: [...subscriptionIdentifiers] }) }
      : undefined;
    return {
      cmd: 'publish',
      topic: message.topic,
      payload: message.payload,
      qos: message.qos,
      retain: message.retain,
      dup: false,
      ...(messageId !== undefined && { messageId }),
      ...(properties !== undefined && { properties: properties as IPublishPacket['properties'] }),
    };
  }

  private tooLarge(message: OutboundMessage): boolean {
    const max = this.options.maximumPacketSize;
    if (max === undefined) return false;
    const packet = this.publish(message, message.qos > 0 ? 1 : undefined);
    return mqttPacket.generate(packet, { protocolVersion: this.options.protocolVersion }).length > max;
  }
}
