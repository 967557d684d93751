import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { test } from 'node:test';
import { createConnectionAdmission } from '../../src/listeners/connection-admission.js';

/** Just what the admission uses of a socket: destroy() and its one 'close'. */
class FakeSocket extends EventEmitter {
  destroyed = false;
  remoteAddress = '10.0.0.1';
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    setImmediate(() => this.emit('close'));
  }
}

function setup(maxConnections: number, maxConnectionsPerAddress: number) {
  const hits: string[] = [];
  const admission = createConnectionAdmission({ maxConnections, maxConnectionsPerAddress }, (limit) => hits.push(limit));
  const admit = (address: string | undefined, deadlineMs = 0) => {
    const socket = new FakeSocket();
    return { socket, admitted: admission.admit(socket as unknown as net.Socket, { listener: 'test', address, deadlineMs }) };
  };
  return { admission, admit, hits };
}

const closed = (socket: FakeSocket): Promise<unknown> => new Promise((resolve) => socket.once('close', resolve));

test('in total and per address; a closed socket frees its place', async () => {
  const { admission, admit, hits } = setup(3, 2);
  const a = admit('1.1.1.1');
  admit('1.1.1.1');
  const refused = admit('1.1.1.1');
  assert.equal(refused.admitted, undefined);
  assert.equal(refused.socket.destroyed, true);
  admit('2.2.2.2');
  assert.equal(admit('3.3.3.3').admitted, undefined);
  assert.deepEqual(hits, ['max-connections-per-address', 'max-connections']);
  assert.equal(admission.open, 3);
  a.socket.destroy();
  await closed(a.socket);
  assert.equal(admission.open, 2);
  assert.ok(admit('1.1.1.1').admitted, 'a place is free again');
});

test('a socket behind a trusted proxy is counted per address once the address is known', () => {
  const { admission, admit, hits } = setup(0, 1);
  const first = admit(undefined);
  const second = admit(undefined);
  assert.equal(first.admitted?.identify('9.9.9.9'), true);
  assert.equal(second.admitted?.identify('9.9.9.9'), false, 'over the per-address limit');
  assert.equal(second.socket.destroyed, true);
  assert.deepEqual(hits, ['max-connections-per-address']);
  assert.equal(admission.open, 2, 'released when its close comes');
});

test('a socket not handed over within its deadline is closed; one handed over is kept', async () => {
  const { admit, hits } = setup(0, 0);
  const slow = admit('1.1.1.1', 50);
  const quick = admit('1.1.1.2', 50);
  quick.admitted?.handedOver();
  // The deadline timer is unref'd (it must not keep a stopping process alive); this one waits for it.
  const hold = setTimeout(() => undefined, 1000);
  await closed(slow.socket);
  clearTimeout(hold);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(quick.socket.destroyed, false);
  assert.deepEqual(hits, ['connect-timeout']);
});
