/**
 * Cuts the bytes of one connection into whole MQTT control packets (fixed header, Remaining
 * Length, then that many bytes), without parsing them. Frames that lie inside one received chunk
 * are views of it; only a frame spread over chunks is copied. Done here rather than by the packet
 * parser so that a packet over the size limit is refused as soon as its length is known (before
 * its bytes are held), and so that reading can stop between any two packets.
 */
export type FrameProblem = { readonly problem: 'too-large'; readonly size: number } | { readonly problem: 'malformed-length' };

export class FrameReader {
  private chunks: Buffer[] = [];
  /** Bytes of chunks[0] already cut into frames. */
  private offset = 0;
  private queued = 0;

  constructor(private readonly maxPacketSize: number) {}

  /** Bytes received and not yet cut into frames. */
  get buffered(): number {
    return this.queued - this.offset;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.queued += chunk.length;
  }

  /** The type nibble of the next frame's first byte, or -1 when nothing is buffered. */
  peekType(): number {
    const first = this.chunks[0];
    return first === undefined ? -1 : first[this.offset]! >> 4;
  }

  /** The next whole frame, undefined until it has arrived, or why the bytes cannot be one. */
  next(): Buffer | undefined | FrameProblem {
    const available = this.queued - this.offset;
    if (available < 2) return undefined;
    let remaining = 0;
    let multiplier = 1;
    let headerLength = 1;
    for (;;) {
      if (headerLength >= available) return undefined;
      const byte = this.byteAt(headerLength);
      remaining += (byte & 0x7f) * multiplier;
      headerLength++;
      if ((byte & 0x80) === 0) break;
      // The Remaining Length is at most four bytes [MQTT-1.5.5-1 (v5), 2.2.3 (3.1.1)].
      if (headerLength === 5) return { problem: 'malformed-length' };
      multiplier *= 128;
    }
    const size = headerLength + remaining;
    if (size > this.maxPacketSize) return { problem: 'too-large', size };
    if (available < size) return undefined;
    return this.take(size);
  }

  /** Drops everything buffered (a connection that is closing reads no further). */
  clear(): void {
    this.chunks = [];
    this.offset = 0;
    this.queued = 0;
  }

  private byteAt(index: number): number {
    let at = this.offset + index;
    for (const chunk of this.chunks) {
      if (at < chunk.length) return chunk[at]!;
      at -= chunk.length;
    }
    throw new RangeError('frame reader: read past the buffered bytes');
  }

  private take(size: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.offset >= size) {
      const frame = first.subarray(this.offset, this.offset + size);
      this.advance(size);
      return frame;
    }
    const frame = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const chunk = this.chunks[0]!;
      const n = Math.min(chunk.length - this.offset, size - filled);
      chunk.copy(frame, filled, this.offset, this.offset + n);
      filled += n;
      this.advance(n);
    }
    return frame;
  }

  private advance(n: number): void {
    this.offset += n;
    const first = this.chunks[0]!;
    if (this.offset < first.length) return;
    this.chunks.shift();
    this.queued -= first.length;
    this.offset = 0;
  }
}
