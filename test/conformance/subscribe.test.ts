// SUBSCRIBE/SUBACK and UNSUBSCRIBE/UNSUBACK, MQTT 3.1.1 and 5, in raw bytes against a running
// proxy. The server's CONNACK capabilities decide what a valid but unsupported request must get
// (wildcards, shared subscriptions, subscription identifiers); the CONNACK tests say what they are.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  Code,
  VERSIONS,
  assertClosedAfter,
  clientIdFor,
  connected,
  hexList,
  versionName,
  type ConnackPacket,
  type ConformanceClient,
  type Packet,
  type Version,
} from '../helpers/conformance.js';
import { assertNoCrash, serverConnack, startConformanceProxy } from '../helpers/conformance-proxy.js';
import * as bytes from '../helpers/mqtt-bytes.js';
import type { RunningProxy } from '../helpers/proxy.js';

let proxy: RunningProxy;
let capabilities: NonNullable<ConnackPacket['properties']>;
before(async () => {
  proxy = await startConformanceProxy();
  capabilities = (await serverConnack(proxy.port)).properties ?? {};
});
after(() => proxy?.stop());
afterEach(assertNoCrash);

const { Property, prop, properties } = bytes;
/** SUBACK codes each version defines (MQTT-3.9.3-2). */
const SUBACK_CODES: Record<Version, readonly number[]> = {
  4: [0x00, 0x01, 0x02, 0x80],
  5: [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2],
};
const UNSUBACK_CODES = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91];

type Entry = bytes.SubscriptionEntry;
type Outcome = { readonly codes: readonly number[]; readonly client: ConformanceClient } | { readonly closed: true; readonly client: ConformanceClient };

const codesOf = (p: Packet): number[] => ((p as { granted?: number[]; reasonCodes?: number[] }).granted ?? (p as { reasonCodes?: number[] }).reasonCodes ?? []).map(Number);
const idOf = (p: Packet): number | undefined => (p as { messageId?: number }).messageId;

/** One SUBSCRIBE on a new connection: the SUBACK's codes, or that the server closed the connection. */
async function subscribeOnce(version: Version, entries: readonly Entry[], props?: Buffer, packetId = 77, connectExtra = {}): Promise<Outcome> {
  const { client } = await connected(proxy.port, version, clientIdFor('sub'), connectExtra);
  client.send(bytes.subscribe({ packetId, entries, ...(props !== undefined && { properties: props }) }, version));
  await Promise.race([client.waitClosed(), client.waitFor('suback').catch(() => undefined)]);
  const suback = client.of('suback')[0];
  if (suback !== undefined) {
    assert.equal(idOf(suback), packetId, 'MQTT-3.8.4-2: the SUBACK carries the SUBSCRIBE\'s packet id');
    return { codes: codesOf(suback), client };
  }
  return { closed: true, client };
}

/**
 * A filter that must not be granted: the SUBACK refuses it with one of `subackCodes`, or (where the
 * statement makes it a malformed packet or protocol error) the server closes, MQTT 5 at most after a
 * DISCONNECT with one of `disconnectCodes`.
 */
async function assertFilterRefused(version: Version, entries: readonly Entry[], expected: { subackCodes: readonly number[]; disconnectCodes: readonly number[] }, what: string, props?: Buffer): Promise<void> {
  const outcome = await subscribeOnce(version, entries, props);
  try {
    if ('codes' in outcome) {
      assert.equal(outcome.codes.length, entries.length, `${what}: one code per filter`);
      for (const code of outcome.codes) assert.ok(expected.subackCodes.includes(code), `${what}: SUBACK code 0x${code.toString(16)}; expected ${hexList(expected.subackCodes)}${expected.disconnectCodes.length > 0 ? ` or a close` : ''}`);
      assert.ok(await outcome.client.answersPing(), `${what}: a refused filter is no reason to drop the client`);
      return;
    }
    await assertClosedAfter(outcome.client, { disconnectCodes: expected.disconnectCodes, from: 1 }, what);
  } finally {
    outcome.client.destroy();
  }
}

/** A packet that must close the connection (MQTT 5: at most a DISCONNECT with `codes` first). */
async function assertSubscribeClosed(version: Version, packet: Buffer, codes: readonly number[], what: string): Promise<void> {
  const { client } = await connected(proxy.port, version, clientIdFor('closed'));
  try {
    client.send(packet);
    await assertClosedAfter(client, { disconnectCodes: codes, from: 1 }, what);
  } finally {
    client.destroy();
  }
}

/** The code a filter invalid for this version gets in SUBACK: 0x80 is all 3.1.1 has. */
const invalidFilterCodes = (version: Version): readonly number[] => (version === 5 ? [Code.topicFilterInvalid] : [Code.unspecifiedError]);
const MALFORMED = [Code.malformed, Code.protocolError];

describe('SUBSCRIBE packet format', () => {
  for (const version of VERSIONS) {
    const v = versionName(version);
    test(`MQTT-3.8.1-1 ${v}: a SUBSCRIBE with fixed-header flags other than 0010 is malformed: closed${version === 5 ? ', at most DISCONNECT 0x81 first' : ''}`, async () => {
      for (const firstByte of [0x80, 0x83, 0x8a]) {
        await assertSubscribeClosed(version, bytes.subscribe({ packetId: 1, firstByte, entries: [{ filter: 'a/b', options: 0 }] }, version), [Code.malformed], `SUBSCRIBE first byte 0x${firstByte.toString(16)}`);
      }
    });

    test(`${version === 5 ? 'MQTT-3.8.3-2' : 'MQTT-3.8.3-3'} ${v}: a SUBSCRIBE without a Topic Filter breaks the protocol: closed${version === 5 ? ', at most DISCONNECT 0x81/0x82 first' : ''}`, async () => {
      await assertSubscribeClosed(version, bytes.subscribe({ packetId: 1, entries: [] }, version), MALFORMED, 'SUBSCRIBE without payload');
    });

    test(`${version === 5 ? 'MQTT-2.2.1-3' : 'MQTT-2.3.1-1'} ${v}: a SUBSCRIBE with packet identifier 0 breaks the protocol: closed${version === 5 ? ', at most DISCONNECT 0x81/0x82 first' : ''}`, async () => {
      await assertSubscribeClosed(version, bytes.subscribe({ packetId: 0, entries: [{ filter: 'a/b', options: 0 }] }, version), MALFORMED, 'SUBSCRIBE packet id 0');
    });
  }

  test('MQTT-3.8.3-4 v3.1.1: a Requested QoS byte with reserved bits set, or QoS 3, is malformed: closed', async () => {
    for (const options of [0x03, 0x04, 0x40, 0x80, 0xfd]) {
      await assertSubscribeClosed(4, bytes.subscribe({ packetId: 1, entries: [{ filter: 'a/b', options }] }, 4), [], `Requested QoS byte 0x${options.toString(16)}`);
    }
  });

  test('MQTT-3.8.3-5 v5: Subscription Options with reserved bits 6-7 set are malformed: closed, at most DISCONNECT 0x81 first', async () => {
    for (const options of [0x40, 0x80, 0xc1]) {
      await assertSubscribeClosed(5, bytes.subscribe({ packetId: 1, entries: [{ filter: 'a/b', options }] }, 5), [Code.malformed], `Subscription Options 0x${options.toString(16)}`);
    }
  });

  test('MQTT-3.8.3.1 v5: Maximum QoS 3 or Retain Handling 3 is a protocol error: closed, at most DISCONNECT 0x81/0x82 first', async () => {
    for (const [what, options] of [['Maximum QoS 3', 0x03], ['Retain Handling 3', 0x30]] as const) {
      await assertSubscribeClosed(5, bytes.subscribe({ packetId: 1, entries: [{ filter: 'a/b', options }] }, 5), MALFORMED, what);
    }
  });
});

describe('topic filters', () => {
  for (const version of VERSIONS) {
    const v = versionName(version);
    const refusedOrClosed = { subackCodes: invalidFilterCodes(version), disconnectCodes: [Code.malformed, Code.protocolError, Code.topicFilterInvalid] };
    test(`${version === 5 ? 'MQTT-4.7.1-1' : 'MQTT-4.7.1-2'} ${v}: a '#' that is not alone in the last level: SUBACK ${hexList(invalidFilterCodes(version))} for it, or the connection closed`, async () => {
      for (const filter of ['a/#/b', 'a#', '#/a', 'a/b#', '##', '#a']) await assertFilterRefused(version, [{ filter, options: 0 }], refusedOrClosed, `filter ${filter}`);
    });

    test(`${version === 5 ? 'MQTT-4.7.1-2' : 'MQTT-4.7.1-3'} ${v}: a '+' that does not fill its level: SUBACK ${hexList(invalidFilterCodes(version))} for it, or the connection closed`, async () => {
      for (const filter of ['a+', 'a/b+/c', '+a/b', '++', 'a/+b']) await assertFilterRefused(version, [{ filter, options: 0 }], refusedOrClosed, `filter ${filter}`);
    });

    test(`MQTT-4.7.3-1 ${v}: an empty Topic Filter: SUBACK ${hexList(invalidFilterCodes(version))} for it, or the connection closed`, async () => {
      await assertFilterRefused(version, [{ filter: '', options: 0 }], refusedOrClosed, 'empty filter');
    });

    test(`${version === 5 ? 'MQTT-1.5.4-2' : 'MQTT-1.5.3-2'} / MQTT-4.7.3-2 ${v}: a Topic Filter containing U+0000 is malformed: closed${version === 5 ? ', at most DISCONNECT 0x81 first' : ''} (SUBSCRIBE and UNSUBSCRIBE)`, async () => {
      for (const filter of ['a/\u0000', '\u0000', 'a\u0000/#']) {
        await assertSubscribeClosed(version, bytes.subscribe({ packetId: 1, entries: [{ filter, options: 0 }] }, version), [Code.malformed], `SUBSCRIBE ${JSON.stringify(filter)}`);
        await assertSubscribeClosed(version, bytes.unsubscribe({ packetId: 1, filters: [filter] }, version), [Code.malformed], `UNSUBSCRIBE ${JSON.stringify(filter)}`);
      }
    });

    test(`MQTT-3.8.4-1/-2 ${v}: every SUBSCRIBE gets a SUBACK with its packet id and one code per filter (${version === 5 ? 'MQTT-3.8.4-6' : 'MQTT-3.8.4-5'}) from the SUBACK table (MQTT-3.9.3-2), granting at most the requested QoS; the client stays connected`, async () => {
      // MQTT 5: wildcard filters only where the server takes them (a server without them may
      // answer the whole SUBSCRIBE with DISCONNECT 0xA2; see the capability tests).
      const wildcards = version === 4 || capabilities.wildcardSubscriptionAvailable !== false;
      const entries: Entry[] = [
        { filter: 'sensors/a', options: 0 },
        ...(wildcards ? [{ filter: 'sensors/+/b', options: 1 }, { filter: 'sensors/#', options: 2 }, { filter: '#', options: 0 }] : [{ filter: 'sensors/b', options: 2 }]),
        { filter: '$SYS/x', options: 1 },
        ...(version === 4 ? [{ filter: '$share/group/a', options: 1 }] : []),
      ];
      for (const packetId of [1, 0x1234, 65535]) {
        const outcome = await subscribeOnce(version, entries, undefined, packetId);
        try {
          assert.ok('codes' in outcome, `a valid SUBSCRIBE must get a SUBACK; received ${outcome.client.describe()}`);
          assert.equal(outcome.codes.length, entries.length);
          outcome.codes.forEach((code, i) => {
            assert.ok(SUBACK_CODES[version].includes(code), `code 0x${code.toString(16)} is not a SUBACK code`);
            if (code < 0x80) assert.ok(code <= (entries[i]!.options & 0x03), `granted QoS ${code} above the requested ${entries[i]!.options & 0x03}`);
          });
          assert.ok(await outcome.client.answersPing(), 'the client stays connected');
        } finally {
          outcome.client.destroy();
        }
      }
    });

    test(`MQTT-3.9.3-1 ${v}: the codes in SUBACK follow the order of the filters (MQTT-3.8.4-${version === 5 ? 5 : 4}: as if each were subscribed alone)`, async () => {
      const candidates: Entry[] = [
        { filter: 'order/a', options: 0 },
        { filter: 'order/+', options: 1 },
        { filter: 'order/#/bad', options: 2 },
        ...(version === 5 ? [{ filter: '$share/g/order', options: 1 }] : []),
        { filter: 'order/c', options: 2 },
      ];
      const alone: Array<{ entry: Entry; code: number }> = [];
      for (const entry of candidates) {
        const outcome = await subscribeOnce(version, [entry]);
        outcome.client.destroy();
        if ('codes' in outcome) alone.push({ entry, code: outcome.codes[0]! });
      }
      assert.ok(alone.length >= 3, 'enough filters are answered with a SUBACK to compare');
      const together = await subscribeOnce(version, alone.map((a) => a.entry));
      together.client.destroy();
      assert.ok('codes' in together, `SUBACK for filters each answered alone; received ${together.client.describe()}`);
      assert.deepEqual(together.codes, alone.map((a) => a.code));
    });
  }

  for (const version of VERSIONS) {
    test(`ingest-only proxy (no statement: what the proxy does until delivery lands) ${versionName(version)}: a valid filter without wildcards gets SUBACK 0x80 and the client stays connected`, async () => {
      const outcome = await subscribeOnce(version, [{ filter: 'plain/a', options: 1 }, { filter: 'plain/b', options: 0 }, { filter: '$SYS/c', options: 2 }]);
      try {
        assert.ok('codes' in outcome, `received ${outcome.client.describe()}`);
        assert.deepEqual(outcome.codes, [Code.unspecifiedError, Code.unspecifiedError, Code.unspecifiedError]);
        assert.ok(await outcome.client.answersPing());
      } finally {
        outcome.client.destroy();
      }
    });
  }

  test('MQTT-4.8.2-1 v5: a shared subscription filter without a ShareName is refused: SUBACK 0x8F (0x9E where shared subscriptions are unavailable), or the connection closed', async () => {
    const codes = capabilities.sharedSubscriptionAvailable === false ? [Code.topicFilterInvalid, Code.sharedSubscriptionsNotSupported] : [Code.topicFilterInvalid];
    for (const filter of ['$share/', '$share//a']) {
      await assertFilterRefused(5, [{ filter, options: 0 }], { subackCodes: codes, disconnectCodes: [Code.malformed, Code.protocolError, Code.topicFilterInvalid] }, `filter ${filter}`);
    }
  });

  test('MQTT-4.8.2-2 v5: a ShareName with /, + or #, or not followed by / and a Topic Filter, is refused: SUBACK 0x8F (0x9E where shared subscriptions are unavailable), or the connection closed', async () => {
    const codes = capabilities.sharedSubscriptionAvailable === false ? [Code.topicFilterInvalid, Code.sharedSubscriptionsNotSupported] : [Code.topicFilterInvalid];
    for (const filter of ['$share/g+/a', '$share/g#/a', '$share/g', '$share/g/', '$share/+/a']) {
      await assertFilterRefused(5, [{ filter, options: 0 }], { subackCodes: codes, disconnectCodes: [Code.malformed, Code.protocolError, Code.topicFilterInvalid] }, `filter ${filter}`);
    }
  });

  test('MQTT-3.8.3-4 v5: No Local on a shared subscription is a protocol error: closed, at most DISCONNECT 0x82 (or 0x9E where shared subscriptions are unavailable) first', async () => {
    const codes = capabilities.sharedSubscriptionAvailable === false ? [Code.protocolError, Code.sharedSubscriptionsNotSupported] : [Code.protocolError];
    await assertSubscribeClosed(5, bytes.subscribe({ packetId: 1, entries: [{ filter: '$share/group/a', options: 0x04 | 1 }] }, 5), codes, 'No Local on $share/group/a');
  });

  test('MQTT-3.2.2.3.13 v5: a shared subscription while Shared Subscription Available is 0 gets SUBACK 0x9E (or DISCONNECT 0x9E)', async (t) => {
    if (capabilities.sharedSubscriptionAvailable !== false) {
      t.skip('shared subscriptions are available');
      return;
    }
    await assertFilterRefused(5, [{ filter: '$share/group/a/b', options: 1 }], { subackCodes: [Code.sharedSubscriptionsNotSupported], disconnectCodes: [Code.sharedSubscriptionsNotSupported] }, '$share/group/a/b');
  });

  test('MQTT-3.2.2.3.11 v5: a wildcard filter while Wildcard Subscription Available is 0 gets SUBACK 0xA2 (or DISCONNECT 0xA2)', async (t) => {
    if (capabilities.wildcardSubscriptionAvailable !== false) {
      t.skip('wildcard subscriptions are available');
      return;
    }
    for (const filter of ['a/+', 'a/#', '#', '+']) {
      await assertFilterRefused(5, [{ filter, options: 1 }], { subackCodes: [Code.wildcardSubscriptionsNotSupported], disconnectCodes: [Code.wildcardSubscriptionsNotSupported] }, filter);
    }
  });

  test('MQTT-3.8.2.1.2 v5: a Subscription Identifier of 0, or given twice, is a protocol error: closed, at most DISCONNECT 0x81/0x82 first', async () => {
    for (const [what, props] of [
      ['Subscription Identifier 0', properties(prop.varint(Property.subscriptionIdentifier, 0))],
      ['Subscription Identifier twice', properties(prop.varint(Property.subscriptionIdentifier, 1), prop.varint(Property.subscriptionIdentifier, 2))],
    ] as const) {
      await assertSubscribeClosed(5, bytes.subscribe({ packetId: 1, entries: [{ filter: 'a/b', options: 0 }], properties: props }, 5), MALFORMED, what);
    }
  });

  test('MQTT-3.2.2.3.12 v5: a Subscription Identifier while Subscription Identifier Available is 0 gets SUBACK 0xA1 (or DISCONNECT 0xA1)', async (t) => {
    if (capabilities.subscriptionIdentifiersAvailable !== false) {
      t.skip('subscription identifiers are available');
      return;
    }
    await assertFilterRefused(5, [{ filter: 'a/b', options: 1 }, { filter: 'c', options: 0 }], { subackCodes: [Code.subscriptionIdentifiersNotSupported], disconnectCodes: [Code.subscriptionIdentifiersNotSupported] }, 'Subscription Identifier 7', properties(prop.varint(Property.subscriptionIdentifier, 7)));
  });

  test('MQTT-3.1.2-29 v5: with Request Problem Information 0, SUBACK and UNSUBACK carry no Reason String or User Property', async () => {
    const { client } = await connected(proxy.port, 5, clientIdFor('noproblem'), { properties: { requestProblemInformation: false } });
    try {
      client.send(
        bytes.subscribe({ packetId: 1, entries: [{ filter: 'a/b', options: 1 }, { filter: 'a/c', options: 2 }] }, 5),
        bytes.unsubscribe({ packetId: 2, filters: ['a/b', 'never/subscribed'] }, 5),
      );
      await client.waitFor('unsuback');
      for (const ack of [...client.of('suback'), ...client.of('unsuback')]) {
        assert.equal(ack.properties?.reasonString, undefined, `${ack.cmd} has a Reason String`);
        assert.equal(ack.properties?.userProperties, undefined, `${ack.cmd} has User Properties`);
      }
    } finally {
      client.destroy();
    }
  });
});

describe('UNSUBSCRIBE', () => {
  for (const version of VERSIONS) {
    const v = versionName(version);
    test(`MQTT-3.10.1-1 ${v}: an UNSUBSCRIBE with fixed-header flags other than 0010 is malformed: closed${version === 5 ? ', at most DISCONNECT 0x81 first' : ''}`, async () => {
      for (const firstByte of [0xa0, 0xa3, 0xab]) {
        await assertSubscribeClosed(version, bytes.unsubscribe({ packetId: 1, firstByte, filters: ['a/b'] }, version), [Code.malformed], `UNSUBSCRIBE first byte 0x${firstByte.toString(16)}`);
      }
    });

    test(`MQTT-3.10.3-2 ${v}: an UNSUBSCRIBE without a Topic Filter breaks the protocol: closed${version === 5 ? ', at most DISCONNECT 0x81/0x82 first' : ''}`, async () => {
      await assertSubscribeClosed(version, bytes.unsubscribe({ packetId: 1, filters: [] }, version), MALFORMED, 'UNSUBSCRIBE without payload');
    });

    test(`${version === 5 ? 'MQTT-2.2.1-3' : 'MQTT-2.3.1-1'} ${v}: an UNSUBSCRIBE with packet identifier 0 breaks the protocol: closed${version === 5 ? ', at most DISCONNECT 0x81/0x82 first' : ''}`, async () => {
      await assertSubscribeClosed(version, bytes.unsubscribe({ packetId: 0, filters: ['a/b'] }, version), MALFORMED, 'UNSUBSCRIBE packet id 0');
    });

    test(`MQTT-3.10.4-4/-5 ${v}: UNSUBSCRIBE gets an UNSUBACK with its packet id, also when nothing was subscribed${version === 5 ? '; one code per filter, in order, from the UNSUBACK table (MQTT-3.11.3-1/-2)' : ''}`, async () => {
      const { client } = await connected(proxy.port, version, clientIdFor('unsub'));
      try {
        const filters = ['never/a', 'never/+', 'never/#'];
        client.send(bytes.subscribe({ packetId: 5, entries: [{ filter: 'never/a', options: 1 }] }, version), bytes.unsubscribe({ packetId: 6, filters }, version), bytes.unsubscribe({ packetId: 0xfedc, filters: ['x'] }, version));
        const unsubacks = await client.waitForCount((p) => p.cmd === 'unsuback', 2, 'two UNSUBACKs');
        assert.deepEqual(unsubacks.map(idOf), [6, 0xfedc]);
        if (version === 5) {
          const codes = codesOf(unsubacks[0]!);
          assert.equal(codes.length, filters.length, 'one reason code per filter');
          for (const code of [...codes, ...codesOf(unsubacks[1]!)]) assert.ok(UNSUBACK_CODES.includes(code), `0x${code.toString(16)} is not an UNSUBACK code`);
        } else {
          assert.equal(unsubacks[0]!.length ?? 2, 2);
        }
        assert.ok(await client.answersPing());
      } finally {
        client.destroy();
      }
    });
  }

  test('MQTT-4.7.1-1 v5: an invalid filter in UNSUBSCRIBE gets UNSUBACK 0x8F for it, or the connection closed', async () => {
    const { client } = await connected(proxy.port, 5, clientIdFor('unsubbad'));
    try {
      client.send(bytes.unsubscribe({ packetId: 9, filters: ['ok/a', 'bad#', 'ok/b'] }, 5));
      await Promise.race([client.waitClosed(), client.waitFor('unsuback').catch(() => undefined)]);
      const unsuback = client.of('unsuback')[0];
      if (unsuback === undefined) {
        await assertClosedAfter(client, { disconnectCodes: [Code.malformed, Code.protocolError, Code.topicFilterInvalid], from: 1 }, 'UNSUBSCRIBE bad#');
        return;
      }
      const codes = codesOf(unsuback);
      assert.equal(codes.length, 3);
      assert.equal(codes[1], Code.topicFilterInvalid, `codes ${hexList(codes)}`);
      assert.notEqual(codes[0], Code.topicFilterInvalid);
      assert.notEqual(codes[2], Code.topicFilterInvalid);
    } finally {
      client.destroy();
    }
  });
});
