import mqttPacket, { type Packet, type Parser } from 'mqtt-packet';
import type { ProtocolVersion } from './types.js';

/** A frame mqtt-packet could not read, with its complaint. */
export class MalformedPacket {
  constructor(readonly problem: string) {}
}

/**
 * Reads one whole frame (see FrameReader) with mqtt-packet's parser. The frame holds exactly one
 * packet, so a parser keeps no state from one call to the next: one parser per protocol version
 * serves every connection (a parser per connection would cost each idle connection its state).
 * The parser reports synchronously; the packet is taken after `parse` returns, so nothing runs
 * inside the parser while it is shared.
 */
class FrameParser {
  private parser: Parser;
  private packet: Packet | undefined;
  private error: Error | undefined;

  constructor(private readonly protocolVersion: ProtocolVersion | undefined) {
    this.parser = this.make();
  }

  parse(frame: Buffer): Packet | MalformedPacket {
    this.packet = undefined;
    this.error = undefined;
    const left = this.parser.parse(frame);
    // Set by the listeners during parse(), which flow analysis cannot see.
    const packet = this.packet as Packet | undefined;
    const error = this.error as Error | undefined;
    this.packet = undefined;
    this.error = undefined;
    if (error === undefined && packet !== undefined && left === 0) return packet;
    // After an error (or when it wanted more bytes than the frame's Remaining Length said) a
    // parser's state is not clean for the next frame: its read position survives its own reset.
    this.parser = this.make();
    return new MalformedPacket(error?.message ?? 'packet shorter than its fields');
  }

  private make(): Parser {
    const parser = mqttPacket.parser(this.protocolVersion === undefined ? undefined : { protocolVersion: this.protocolVersion });
    parser.on('packet', (packet: Packet) => {
      this.packet = packet;
    });
    parser.on('error', (error: Error) => {
      this.error ??= error;
    });
    return parser;
  }
}

const parsers = { 3: new FrameParser(3), 4: new FrameParser(4), 5: new FrameParser(5) } as const;

/** One packet of a connection that sent CONNECT with `protocolVersion`. */
export function parseFrame(frame: Buffer, protocolVersion: ProtocolVersion): Packet | MalformedPacket {
  // A CONNECT would become the shared parser's settings; the connection refuses a second one before this.
  if (frame[0]! >> 4 === 1) return new MalformedPacket('CONNECT after CONNECT');
  return parsers[protocolVersion].parse(frame);
}

/**
 * A CONNECT frame. Its own parser each time: mqtt-packet keeps the last CONNECT it read (with its
 * password) as the parser's settings, which no parser shared between connections may hold.
 */
export function parseConnectFrame(frame: Buffer): Packet | MalformedPacket {
  return new FrameParser(undefined).parse(frame);
}
