/**
 * The MQTT part's hooks: ingest's with delivery's added. Connection events reach both (ingest
 * first), the subscriber side is delivery's, and without delivery the hooks are ingest's alone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MqttHooks, MqttSession } from '../../src/mqtt/types.js';
import { composeHooks } from '../../src/server/parts/mqtt-part.js';

const session: MqttSession = { clientId: 'c', username: undefined, protocolVersion: 5, remoteAddress: '127.0.0.1', listener: 'tcp:1883' };

function ingest(calls: string[]): MqttHooks {
  return {
    authenticate: () => ({ accepted: true, username: undefined }),
    onPublish: () => calls.push('publish'),
    onConnect: () => calls.push('ingest connect'),
    onClosed: () => calls.push('ingest closed'),
  };
}

describe('MQTT part hooks', () => {
  it('without delivery they are ingest\'s own', () => {
    const hooks = ingest([]);
    assert.equal(composeHooks(hooks, undefined), hooks);
  });

  it('connection events reach ingest, then delivery; SUBSCRIBE and capabilities are delivery\'s', async () => {
    const calls: string[] = [];
    const capabilities = { retainAvailable: false, wildcardSubscriptionAvailable: true, subscriptionIdentifiersAvailable: true, sharedSubscriptionAvailable: true, maximumQoS: 2 as const };
    const hooks = composeHooks(ingest(calls), {
      capabilities: () => capabilities,
      onSubscribe: () => [1],
      onUnsubscribe: () => [0],
      onClosed: () => calls.push('delivery closed'),
    });
    hooks.onConnect!(session);
    hooks.onClosed!(session);
    assert.deepEqual(calls, ['ingest connect', 'ingest closed', 'delivery closed']);
    assert.equal(hooks.capabilities!(), capabilities);
    assert.deepEqual(await hooks.onSubscribe!(session, { packetId: 1, subscriptions: [], refused: new Map(), subscriptionIdentifier: undefined, userProperties: undefined }), [1]);
    assert.equal(hooks.onDisconnect, undefined);
  });
});
