import type { Duplex } from 'node:stream';

/** Stops and restarts the MQTT parser's reads from one connection's stream. */
export interface ReadGate {
  pause(): void;
  resume(): void;
  readonly paused: boolean;
}

/**
 * Gates the reads aedes makes on a connection's stream. aedes pulls with `stream.read()` on each
 * 'readable' event and after each batch of packets was handled; while paused those pulls get
 * nothing, so the stream's buffer fills to its high-water mark, the stream stops reading from the
 * socket and the kernel's TCP window closes: the device is pushed back. On resume the pull that was
 * refused is made again.
 *
 * Done at the stream rather than with aedes' own client.pause(), whose read loop loses count of
 * the packets still being handled when more than one finishes while paused, and never reads again.
 */
export function gateReads(stream: Duplex): ReadGate {
  return new StreamReadGate(stream);
}

/** A class rather than an object literal with a getter: one is kept per connection, and a class instance is smaller. */
class StreamReadGate implements ReadGate {
  paused = false;
  /** A pull was refused while paused: resume() makes it again. */
  private refused = false;
  /** The stream's own read, called on the stream. */
  private readonly read: Duplex['read'];

  constructor(private readonly stream: Duplex) {
    this.read = stream.read;
    // A bound method rather than a closure over a bound read: one function a connection, not three objects.
    stream.read = this.gatedRead.bind(this) as Duplex['read'];
  }

  /** Only the parser's pulls (read() / read(null)) are gated; read(0), which Node uses internally to refill the buffer up to its high-water mark, stays as it is. */
  private gatedRead(size?: number): unknown {
    if (this.paused && (size === undefined || size === null)) {
      this.refused = true;
      return null;
    }
    return this.read.call(this.stream, size);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.refused) return;
    this.refused = false;
    // Wakes the parser the way new data would; its pull now gets what arrived meanwhile. Not
    // synchronously: the caller is in the middle of its own accounting.
    setImmediate(() => {
      if (!this.paused && !this.stream.destroyed) this.stream.emit('readable');
      else if (this.paused) this.refused = true;
    });
  }
}
