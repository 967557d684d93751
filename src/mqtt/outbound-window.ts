// Server -> client PUBLISH state of one session: packet identifiers, the client's Receive Maximum as
// the window for QoS 1 and 2, the queue behind it, Maximum Packet Size, topic aliases, the QoS 2
// sender flow and the resend when a session resumes. Pure: it returns the packets to write.
import type { IPublishPacket, IPubrelPacket, Packet } from 'mqtt-packet';
import { Deque } from './deque.js';
import type { AckResult, OfferResult, OutboundMessage, OutboundSnapshotEntry, OutboundWindowOptions, ResumeResult } from './outbound-types.js';
import { checkWindowOptions, MAX_INFLIGHT } from './outbound-types.js';
import { EMPTY, Entry, MAX_PACKET_ID, PACKET_ID_NOT_FOUND, QUEUED, QUEUE_FULL, restoredEntry, State, TOO_LARGE, unexpectedAck } from './outbound-entry.js';
import { MAX_PACKET_SIZE, packetProperties, propertiesSize, publishSize, TOPIC_ALIAS_SIZE } from './publish-encoding.js';
import { TopicAliases } from './topic-aliases.js';

export type * from './outbound-types.js';
export { checkWindowOptions, MAX_INFLIGHT } from './outbound-types.js';


export class OutboundWindow {
  private options: OutboundWindowOptions;
  private window = 0;
  private limit = 0;
  private inflightById: Map<number, Entry> | undefined;
  /** Entries sent (or released) on this connection and not yet acknowledged: what the window counts. */
  private onWire = 0;
  private readonly resends = new Deque<Entry>();
  private readonly waiting = new Deque<Entry>();
  private readonly waitingQos0 = new Deque<Entry>();
  private readonly aliases = new TopicAliases(0);
  private nextPacketId = 1;
  private seq = 0;
  private canWrite = true;

  constructor(options: OutboundWindowOptions) {
    this.options = options;
    this.configure(options);
  }

  /** QoS 1 and 2 messages with a packet identifier, not yet completely acknowledged. */
  get inflight(): number {
    return this.inflightById?.size ?? 0;
  }

  /** Messages waiting for window room or a writable socket. */
  get queued(): number {
    return this.waiting.length + this.waitingQos0.length;
  }

  get writable(): boolean {
    return this.canWrite;
  }

  /**
   * false when socket.write returned false, true on 'drain'. While false no PUBLISH is released
   * (QoS 0 too is queued); PUBREL still is. Returns what may go now.
   */
  setWritable(writable: boolean): readonly Packet[] {
    this.canWrite = writable;
    return writable ? this.pump(undefined) : EMPTY;
  }

  /**
   * Takes a message for the client. QoS 0 goes out at once whenever the socket is writable, also
   * while the window is full (different QoS need not keep order between them, MQTT-4.6.0-6); QoS
   * 1 and 2 go out in the order offered as the window allows [MQTT-4.6.0-6, MQTT-3.3.4-9].
   */
  offer(message: OutboundMessage): OfferResult {
    const topicBytes = Buffer.byteLength(message.topic);
    const propsSize = this.options.protocolVersion === 5 ? propertiesSize(message.properties) : 0;
    const size = publishSize(topicBytes, message.payload.length, message.qos, this.options.protocolVersion, propsSize);
    if (size > this.limit) return TOO_LARGE;
    if (message.qos === 0) {
      if (this.canWrite) return { outcome: 'sent', packets: [this.publish(message, 0, false, topicBytes, propsSize)] };
      if (this.queued >= this.options.maxQueued) return QUEUE_FULL;
      this.waitingQos0.push(new Entry(message, this.seq++, topicBytes, propsSize));
      return QUEUED;
    }
    if (this.canWrite && this.onWire < this.window && this.waiting.length === 0 && this.nextResend() === undefined) {
      const entry = new Entry(message, this.seq++, topicBytes, propsSize);
      return { outcome: 'sent', packets: [this.launch(entry)] };
    }
    if (this.queued >= this.options.maxQueued) return QUEUE_FULL;
    this.waiting.push(new Entry(message, this.seq++, topicBytes, propsSize));
    return QUEUED;
  }

  /** PUBACK: ends a QoS 1 flow [MQTT-4.3.2-3 (5.0) / MQTT-4.3.2-1 (3.1.1)]. */
  onPuback(packetId: number, reasonCode = 0): AckResult {
    const entry = this.inflightById?.get(packetId);
    if (entry === undefined || entry.message.qos !== 1) return unexpectedAck('PUBACK', packetId, reasonCode, EMPTY);
    return this.complete(entry, reasonCode);
  }

  /**
   * PUBREC: below 0x80 the QoS 2 flow goes on with PUBREL [MQTT-4.3.3-4]; from 0x80 it ends there,
   * without PUBREL, and the message is not sent again [MQTT-4.4.0-2]. A PUBREC for an identifier not
   * in flight is answered with PUBREL (MQTT 5: reason 0x92 Packet Identifier not found).
   */
  onPubrec(packetId: number, reasonCode = 0): AckResult {
    const entry = this.inflightById?.get(packetId);
    if (entry === undefined) return unexpectedAck('PUBREC', packetId, reasonCode, [this.pubrel(packetId, PACKET_ID_NOT_FOUND)]);
    if (entry.message.qos !== 2) return unexpectedAck('PUBREC', packetId, reasonCode, EMPTY);
    if (reasonCode >= 0x80) return this.complete(entry, reasonCode);
    if (entry.state !== State.Released) {
      if (entry.state === State.AwaitingResend) this.onWire++;
      entry.state = State.Released;
      // Kept in the order PUBRECs arrived, which is the order PUBRELs are resent in [MQTT-4.6.0-4].
      this.inflightById!.delete(packetId);
      this.inflightById!.set(packetId, entry);
    }
    return { acknowledged: undefined, reasonCode, packets: [this.pubrel(packetId, 0)], error: undefined, released: entry.message };
  }

  /** PUBCOMP: ends a QoS 2 flow whose PUBREL was sent [MQTT-4.3.3-5]. */
  onPubcomp(packetId: number, reasonCode = 0): AckResult {
    const entry = this.inflightById?.get(packetId);
    if (entry === undefined || entry.state !== State.Released) return unexpectedAck('PUBCOMP', packetId, reasonCode, EMPTY);
    return this.complete(entry, reasonCode);
  }

  /**
   * The session resumed on a new connection: PUBREL again for released QoS 2 messages, then PUBLISH
   * again with DUP=1 and the original packet identifier for the rest, in the order first sent
   * [MQTT-4.4.0-1, MQTT-4.6.0-1, MQTT-3.3.1-1, MQTT-2.3.1-4 (3.1.1)], as far as the new window allows.
   * Topic aliases are forgotten: they belong to a connection [MQTT-3.3.2-7].
   */
  resume(newOptions: Partial<OutboundWindowOptions> = {}): ResumeResult {
    this.options = { ...this.options, ...newOptions };
    this.configure(this.options);
    this.canWrite = true;
    this.onWire = 0;
    const discarded: OutboundMessage[] = [];
    const packets: Packet[] = [];
    while (this.resends.shift() !== undefined);
    for (const entry of [...(this.inflightById?.values() ?? [])]) {
      if (entry.state === State.Released) {
        this.onWire++;
        packets.push(this.pubrel(entry.packetId, 0));
        continue;
      }
      entry.state = State.AwaitingResend;
      if (this.fits(entry)) this.resends.push(entry);
      else {
        discarded.push(entry.message);
        this.forget(entry);
      }
    }
    const keep = (entry: Entry): boolean => this.fits(entry) || (discarded.push(entry.message), false);
    this.waiting.retain(keep);
    this.waitingQos0.retain(keep);
    this.pump(packets);
    return { packets, discarded };
  }

  /**
   * A stored session's messages from its last connection: PUBREL again for released ones, DUP PUBLISH
   * with the original identifier for the others [MQTT-4.4.0-1], queued ones in turn; all before what
   * is offered after. Identifiers in use on this connection already are skipped.
   */
  restore(entries: readonly OutboundSnapshotEntry[]): ResumeResult {
    const packets: Packet[] = [];
    const discarded: OutboundMessage[] = [];
    const inflight = (this.inflightById ??= new Map());
    for (const snapshot of entries) {
      const entry = restoredEntry(snapshot, this.seq++);
      if (entry.state !== State.Released && !this.fits(entry)) discarded.push(entry.message);
      else if (entry.state === State.Queued) (entry.message.qos === 0 ? this.waitingQos0 : this.waiting).push(entry);
      else if (!inflight.has(entry.packetId)) {
        inflight.set(entry.packetId, entry);
        if (entry.state === State.AwaitingResend) this.resends.push(entry);
        else {
          this.onWire++;
          packets.push(this.pubrel(entry.packetId, 0));
        }
      }
    }
    this.pump(packets);
    return { packets, discarded };
  }

  /** What is unacknowledged or queued, in the order it would be resent and sent, for a session store. */
  snapshot(): readonly OutboundSnapshotEntry[] {
    const out: OutboundSnapshotEntry[] = [];
    for (const entry of this.inflightById?.values() ?? []) {
      out.push({ packetId: entry.packetId, state: entry.state === State.Released ? 'released' : 'sent', message: entry.message });
    }
    const queued = [...this.waiting.toArray(), ...this.waitingQos0.toArray()].sort((a, b) => a.seq - b.seq);
    for (const entry of queued) out.push({ packetId: undefined, state: 'queued', message: entry.message });
    return out;
  }

  private configure(options: OutboundWindowOptions): void {
    checkWindowOptions(options);
    this.window = Math.min(options.receiveMaximum, options.maxInflight ?? MAX_INFLIGHT);
    this.limit = options.maximumPacketSize ?? MAX_PACKET_SIZE;
    // No aliases unless the client allows them [MQTT-3.1.2-27], and none on 3.1.1.
    this.aliases.reset(options.protocolVersion === 5 ? options.topicAliasMaximum : 0);
  }

  /** Recomputes an entry's size for the current protocol version; false when it no longer fits. */
  private fits(entry: Entry): boolean {
    const m = entry.message;
    entry.propsSize = this.options.protocolVersion === 5 ? propertiesSize(m.properties) : 0;
    return publishSize(entry.topicBytes, m.payload.length, m.qos, this.options.protocolVersion, entry.propsSize) <= this.limit;
  }

  /** Releases what the window and the socket allow, oldest first, onto `out` (or a new array). */
  private pump(out: Packet[] | undefined): readonly Packet[] {
    let packets = out;
    while (this.canWrite) {
      const qos0 = this.waitingQos0.peek();
      const next = this.onWire < this.window ? (this.nextResend() ?? this.waiting.peek()) : undefined;
      if (next === undefined && qos0 === undefined) break;
      packets ??= [];
      if (next !== undefined && (qos0 === undefined || next.seq < qos0.seq)) {
        if (next.state === State.AwaitingResend) {
          this.resends.shift();
          next.state = State.Sent;
          this.onWire++;
          packets.push(this.publish(next.message, next.packetId, true, next.topicBytes, next.propsSize));
        } else {
          this.waiting.shift();
          packets.push(this.launch(next));
        }
      } else {
        this.waitingQos0.shift();
        packets.push(this.publish(qos0!.message, 0, false, qos0!.topicBytes, qos0!.propsSize));
      }
    }
    return packets ?? EMPTY;
  }

  /** The first entry still waiting to be resent; entries acknowledged meanwhile are dropped. */
  private nextResend(): Entry | undefined {
    let head = this.resends.peek();
    while (head !== undefined && head.state !== State.AwaitingResend) {
      this.resends.shift();
      head = this.resends.peek();
    }
    return head;
  }

  private launch(entry: Entry): IPublishPacket {
    entry.packetId = this.allocatePacketId();
    entry.state = State.Sent;
    (this.inflightById ??= new Map()).set(entry.packetId, entry);
    this.onWire++;
    return this.publish(entry.message, entry.packetId, false, entry.topicBytes, entry.propsSize);
  }

  /**
   * The next identifier after the last one given that is not in use [MQTT-2.2.1-4, MQTT-4.3.2-1].
   * At most MAX_INFLIGHT are in use, so a full turn of the 65,535 yields at least half of them
   * free: at most one skip per allocation, amortised.
   */
  private allocatePacketId(): number {
    const inUse = this.inflightById;
    let id = this.nextPacketId;
    while (inUse?.has(id) === true) id = id === MAX_PACKET_ID ? 1 : id + 1;
    this.nextPacketId = id === MAX_PACKET_ID ? 1 : id + 1;
    return id;
  }

  /**
   * The PUBLISH packet. An alias replaces the topic when one is known; the first aliasMaximum
   * distinct topics get one [MQTT-3.3.2-11, MQTT-3.3.2-8: never 0]; neither is used when it would
   * make the packet too large. A resend (DUP) carries its full topic. DUP is 0 for QoS 0 [MQTT-3.3.1-2].
   */
  private publish(m: OutboundMessage, packetId: number, dup: boolean, topicBytes: number, propsSize: number): IPublishPacket {
    let topic = m.topic;
    let alias: number | undefined;
    if (this.aliases.enabled && !dup) {
      const known = this.aliases.known(topic);
      // Without an alias the packet fits (offer checked): an alias that would not is left out.
      if ((known !== undefined || this.aliases.available) &&
        publishSize(known === undefined ? topicBytes : 0, m.payload.length, m.qos, 5, propsSize + TOPIC_ALIAS_SIZE) <= this.limit) {
        alias = known ?? this.aliases.assign(topic);
        if (known !== undefined) topic = '';
      }
    }
    const properties = this.options.protocolVersion === 5 ? packetProperties(m.properties, alias) : undefined;
    return { cmd: 'publish', topic, payload: m.payload, qos: m.qos, dup: dup && m.qos > 0, retain: m.retain, messageId: packetId === 0 ? undefined : packetId, properties };
  }

  private pubrel(packetId: number, reasonCode: number): IPubrelPacket {
    // reasonCode 0 lets mqtt-packet write the short form; on 3.1.1 it is not written at all.
    return { cmd: 'pubrel', messageId: packetId, reasonCode: this.options.protocolVersion === 5 ? reasonCode : 0 };
  }

  private forget(entry: Entry): void {
    this.inflightById?.delete(entry.packetId);
    if (entry.state === State.Sent || entry.state === State.Released) this.onWire--;
    entry.state = State.Done;
  }

  private complete(entry: Entry, reasonCode: number): AckResult {
    this.forget(entry);
    return { acknowledged: entry.message, reasonCode, packets: this.pump(undefined), error: undefined };
  }
}
