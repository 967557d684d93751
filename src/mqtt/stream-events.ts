import type { Duplex } from 'node:stream';
import type { Connection } from './connection.js';

/**
 * The stream listeners of every connection: shared functions that find their connection through
 * the stream, rather than closures made for each connection (an idle connection pays for those).
 */
const connections = new WeakMap<Duplex, Connection>();

export function listenTo(stream: Duplex, connection: Connection): void {
  connections.set(stream, connection);
  stream.on('data', onStreamData);
  stream.on('error', onStreamError);
  stream.on('close', onStreamClose);
  // A stream handed over explicitly paused (the PROXY header reader leaves it so, with the bytes
  // after the header put back) does not start flowing with a 'data' listener alone.
  stream.resume();
}

/** The 'error' listener stays: a late error must not become an uncaught one. */
export function stopListening(stream: Duplex): void {
  stream.removeListener('data', onStreamData);
  stream.removeListener('close', onStreamClose);
}

export function awaitDrain(stream: Duplex): void {
  stream.once('drain', onStreamDrain);
}

function onStreamData(this: Duplex, chunk: Buffer): void {
  connections.get(this)?.onData(chunk);
}

function onStreamError(this: Duplex, error: NodeJS.ErrnoException): void {
  const connection = connections.get(this);
  if (connection === undefined) return;
  // Socket errors (ECONNRESET, EPIPE...) are how connections end; anything else is worth a look.
  if (error.code !== undefined) {
    if (connection.ctx.logger.isLevelEnabled('debug')) connection.log.debug({ err: error.message }, 'connection error');
  } else connection.log.warn({ err: error.message }, 'connection error');
}

function onStreamClose(this: Duplex): void {
  connections.get(this)?.onClose();
}

function onStreamDrain(this: Duplex): void {
  connections.get(this)?.onDrain();
}

export function readLater(connection: Connection): void {
  connection.runScheduledRead();
}

export function destroyIfOpen(stream: Duplex): void {
  if (!stream.destroyed) stream.destroy();
}

export function onConnectTimeout(connection: Connection): void {
  connection.connectTimer = undefined;
  if (connection.state !== 'awaiting-connect') return;
  const { connectTimeoutSeconds } = connection.ctx.limits;
  connection.ctx.limitHit('connect-timeout', { remoteAddress: connection.info.remoteAddress }, `no CONNECT within ${connectTimeoutSeconds} s: closed`);
  connection.state = 'closing';
  connection.stream.destroy();
}
