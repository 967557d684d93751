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
  const read = stream.read.bind(stream);
  let paused = false;
  let refused = false;
  // Only the parser's pulls (read() / read(null)) are gated; read(0), which Node uses internally
  // to refill the buffer up to its high-water mark, stays as it is.
  stream.read = (size?: number): unknown => {
    if (paused && (size === undefined || size === null)) {
      refused = true;
      return null;
    }
    return read(size);
  };
  return {
    get paused() {
      return paused;
    },
    pause() {
      paused = true;
    },
    resume() {
      if (!paused) return;
      paused = false;
      if (refused) {
        refused = false;
        // Wakes the parser the way new data would; its pull now gets what arrived meanwhile. Not
        // synchronously: the caller is in the middle of its own accounting.
        setImmediate(() => {
          if (!paused && !stream.destroyed) stream.emit('readable');
          else if (paused) refused = true;
        });
      }
    },
  };
}
