// The in-memory session store of the MQTT engine (aedes-persistence, patched in patches/) must not
// keep an entry for every client id that ever sent a QoS 2 PUBLISH or a PUBREL: devices come and
// go with ever new ids, so such entries are a leak that only a restart clears.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createRequire } from 'node:module';

interface ClientRef {
  readonly id: string;
}
/** The promise side of the store (its published types describe only the callback side). */
interface IncomingStore {
  incomingStorePacket(client: ClientRef, packet: object): Promise<void>;
  incomingGetPacket(client: ClientRef, packet: { messageId: number }): Promise<{ messageId: number }>;
  incomingDelPacket(client: ClientRef, packet: { messageId: number }): Promise<void>;
}
const createPersistence = createRequire(import.meta.url)('aedes-persistence') as () => IncomingStore;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

test('QoS 2 receive state and unknown PUBRELs leave nothing behind per client id', async () => {
  const store = createPersistence();
  const ids = 50_000;
  const before = heapAfterGc();
  for (let i = 0; i < ids; i++) {
    const client = { id: `device-${i}-0123456789abcdef` };
    const packet = { cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 2, messageId: 1, retain: false, dup: false };
    await store.incomingStorePacket(client, packet);
    assert.equal((await store.incomingGetPacket(client, packet)).messageId, 1);
    await store.incomingDelPacket(client, packet); // PUBREL
    await assert.rejects(store.incomingGetPacket({ id: `stranger-${i}-0123456789abcdef` }, { messageId: 7 })); // PUBREL for an unknown id
  }
  const grown = heapAfterGc() - before;
  // Still in use after the measurement, so the collector cannot free the store itself.
  assert.ok(store !== undefined);
  await store.incomingDelPacket({ id: 'device-0-0123456789abcdef' }, { messageId: 1 }).catch(() => undefined);
  console.log(`aedes-persistence: heap +${(grown / 1048576).toFixed(2)} MiB after ${ids} client ids`);
  // Unpatched, each id costs a few hundred bytes (about 25 MiB here); a bounded store costs nothing per id.
  assert.ok(grown < 3 * 1048576, `the store grew by ${(grown / 1048576).toFixed(1)} MiB for ${ids} client ids that are gone`);
});
