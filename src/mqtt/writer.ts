import type { Duplex } from 'node:stream';
import mqttPacket, { type Packet } from 'mqtt-packet';
import type { ProtocolVersion } from './types.js';

/** First bytes of the acknowledgements written most: type and flags, Remaining Length 2. */
const ACK_HEADER = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;
export type AckKind = keyof typeof ACK_HEADER;

/** Acknowledgements are gathered in blocks of this many bytes (from Node's shared buffer pool). */
const ACK_BLOCK = 1024;
/** Above this many bytes a flush hands the stream its buffers one by one (writev) instead of one copy. */
const CONCAT_LIMIT = 16384;

/** Packets other than these must not carry a Reason String or User Properties when the client said Request Problem Information 0 [MQTT-3.1.2-29]. */
const ALWAYS_INFORMATIVE = new Set(['publish', 'connack', 'disconnect']);

export interface WriterPeer {
  readonly protocolVersion: ProtocolVersion;
  /** The client's Maximum Packet Size (MQTT 5 CONNECT); undefined = the protocol's. */
  readonly maximumPacketSize: number | undefined;
  /** False when the client asked for no Reason Strings and User Properties. */
  readonly problemInformation: boolean;
  /** The stream did not take everything written: reading stops until 'drain'. */
  writeBlocked(): void;
}

/**
 * Everything a connection writes, in order, gathered until the end of the current tick and
 * handed to the stream as one write: a Kafka answer releases many acknowledgements of a
 * connection at once, and one write for them all is what keeps a PUBACK cheap.
 */
export class PacketWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private acks: Buffer | undefined;
  private acksLength = 0;
  private scheduled = false;

  constructor(
    private readonly stream: Duplex,
    private readonly peer: WriterPeer,
  ) {}

  /** A success acknowledgement without properties: four bytes, encoded here. */
  ack(kind: AckKind, packetId: number): void {
    if (this.acks === undefined || this.acksLength + 4 > this.acks.length) {
      this.closeAcks();
      this.acks = Buffer.allocUnsafe(ACK_BLOCK);
    }
    const acks = this.acks;
    const at = this.acksLength;
    acks[at] = ACK_HEADER[kind];
    acks[at + 1] = 2;
    acks[at + 2] = packetId >> 8;
    acks[at + 3] = packetId & 0xff;
    this.acksLength = at + 4;
    this.schedule();
  }

  /**
   * Any packet, through mqtt-packet. Reason Strings and User Properties are left out where the
   * client asked for none, or where they would make the packet larger than the client accepts
   * [MQTT-3.1.2-25, MQTT-3.4.2-2 ...]. False when the packet cannot be sent at all (too large even
   * without them, or not encodable).
   */
  packet(packet: Packet): boolean {
    const bytes = this.encode(packet);
    if (bytes === undefined) return false;
    this.closeAcks();
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    this.schedule();
    return true;
  }

  /** Writes what is gathered now (before the stream is ended, or when the caller cannot wait). */
  flush(): void {
    this.closeAcks();
    const { pending, pendingBytes, stream } = this;
    if (pending.length === 0) return;
    this.pending = [];
    this.pendingBytes = 0;
    if (stream.destroyed || stream.writableEnded) return;
    let flushed: boolean;
    if (pending.length === 1) flushed = stream.write(pending[0]);
    else if (pendingBytes <= CONCAT_LIMIT) flushed = stream.write(Buffer.concat(pending, pendingBytes));
    else {
      stream.cork();
      for (const bytes of pending) stream.write(bytes);
      stream.uncork();
      flushed = !stream.writableNeedDrain;
    }
    if (!flushed) this.peer.writeBlocked();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(flushWriter, this);
  }

  /** Called once per tick at most (see schedule). */
  runScheduledFlush(): void {
    this.scheduled = false;
    this.flush();
  }

  private closeAcks(): void {
    if (this.acksLength === 0) return;
    const block = this.acks!.subarray(0, this.acksLength);
    this.pending.push(block);
    this.pendingBytes += block.length;
    this.acks = this.acksLength + 4 <= this.acks!.length ? this.acks!.subarray(this.acksLength) : undefined;
    this.acksLength = 0;
  }

  private encode(packet: Packet): Buffer | undefined {
    const { protocolVersion, maximumPacketSize, problemInformation } = this.peer;
    let candidate = packet;
    if (protocolVersion === 5 && !problemInformation && !ALWAYS_INFORMATIVE.has(packet.cmd)) candidate = withoutProblemInformation(packet);
    try {
      let bytes = mqttPacket.generate(candidate, { protocolVersion });
      if (maximumPacketSize !== undefined && bytes.length > maximumPacketSize && candidate.cmd !== 'publish') {
        candidate = withoutProblemInformation(candidate);
        bytes = mqttPacket.generate(candidate, { protocolVersion });
      }
      return maximumPacketSize !== undefined && bytes.length > maximumPacketSize ? undefined : bytes;
    } catch {
      return undefined;
    }
  }
}

function flushWriter(writer: PacketWriter): void {
  writer.runScheduledFlush();
}

function withoutProblemInformation(packet: Packet): Packet {
  const properties = (packet as { properties?: Record<string, unknown> }).properties;
  if (properties === undefined || (properties.reasonString === undefined && properties.userProperties === undefined)) return packet;
  const { reasonString: _reason, userProperties: _user, ...rest } = properties;
  return { ...packet, properties: rest } as Packet;
}
