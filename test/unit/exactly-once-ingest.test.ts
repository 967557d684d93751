// Inbound QoS 2 of persistent sessions: intents before Kafka, retransmissions in doubt looked up,
// order kept per session. The sessions, the look-up and ingest are test doubles (the integration
// and fault tests run them against Kafka).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { ExactlyOnceIngest, type IngestSide } from '../../src/delivery/exactly-once-ingest.js';
import { InboundIntents } from '../../src/delivery/inbound-intents.js';
import type { PublishedQuery } from '../../src/delivery/published-lookup.js';
import type { InboundPublish, MqttSession, PublishReply, QoS } from '../../src/mqtt/types.js';
import type { ReasonCodeValue } from '../../src/mqtt/reason-codes.js';

const session: MqttSession = { clientId: 'dev-1', username: undefined, protocolVersion: 5, remoteAddress: '127.0.0.1', listener: 'tcp:1883' };

function publish(packetId: number, qos: QoS = 2, at = 1000): InboundPublish {
  return { topic: `t/${packetId}`, payload: Buffer.from(String(packetId)), qos, retain: false, will: false, properties: undefined, receivedAt: at, packetId };
}

class Reply implements PublishReply {
  answers: string[] = [];
  gone = false;
  accept(): void {
    this.answers.push('accept');
  }
  reject(code: ReasonCodeValue): void {
    this.answers.push(`reject ${code}`);
  }
  fail(code: ReasonCodeValue): void {
    this.answers.push(`fail ${code}`);
  }
}

interface Rig {
  readonly guard: ExactlyOnceIngest;
  readonly intents: InboundIntents;
  /** What reached ingest, in order: `publish <topic> <publishId>` or `written <n>`. */
  readonly events: string[];
  readonly handed: Array<{ message: InboundPublish; reply: PublishReply }>;
  readonly queries: PublishedQuery[];
  /** Stored session writes asked; resolve or reject them. */
  readonly writes: Array<{ resolve: () => void; reject: (e: Error) => void; intents: string[] }>;
  readonly counted: string[];
}

function rig(options: { restored?: InboundIntents; found?: (q: PublishedQuery) => Promise<boolean>; persistent?: boolean } = {}): Rig {
  const intents = options.restored ?? new InboundIntents('conn-b');
  const events: string[] = [];
  const handed: Rig['handed'] = [];
  const queries: PublishedQuery[] = [];
  const writes: Rig['writes'] = [];
  const counted: string[] = [];
  let soon: Promise<void> | undefined;
  const ingest: IngestSide = {
    onPublish: (_s, message, reply) => {
      events.push(`publish ${message.topic} ${message.publishId ?? '-'}`);
      handed.push({ message, reply });
    },
    acceptWritten: (_s, reply) => {
      events.push('written');
      reply.accept();
    },
    kafkaTopicOf: (_s, topic) => (topic.startsWith('unmapped') ? undefined : 'telemetry'),
  };
  const guard = new ExactlyOnceIngest({
    sessions: {
      inboundOf: () => (options.persistent === false ? undefined : intents),
      persistSoon: () =>
        (soon ??= new Promise<void>((resolve, reject) => {
          writes.push({ resolve, reject, intents: intents.inDoubt([]).map((i) => i.publishId) });
          soon = undefined;
        })),
    },
    lookup: {
      find: (query) => {
        queries.push(query);
        return options.found?.(query) ?? Promise.resolve(false);
      },
    },
    ingest,
    logger: pino({ level: 'silent' }),
    count: (outcome) => counted.push(outcome),
  });
  return { guard, intents, events, handed, queries, writes, counted };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ExactlyOnceIngest', () => {
  test('a new QoS 2 PUBLISH goes to Kafka only once its intent is stored, with the publish id the intent names', async () => {
    const r = rig();
    r.guard.onPublish(session, publish(1), new Reply());
    await tick();
    assert.deepEqual(r.events, [], 'nothing sent before the session is stored');
    assert.equal(r.writes.length, 1);
    assert.deepEqual(r.writes[0]!.intents, ['conn-b:1'], 'the write holds the intent');
    r.writes[0]!.resolve();
    await tick();
    assert.deepEqual(r.events, ['publish t/1 conn-b:1']);
  });

  test('QoS 2 PUBLISHes of one tick share one write; QoS 0 and 1 after them wait in line, then go direct again', async () => {
    const r = rig();
    r.guard.onPublish(session, publish(1), new Reply());
    r.guard.onPublish(session, publish(2), new Reply());
    r.guard.onPublish(session, publish(3, 1), new Reply());
    r.guard.onPublish(session, publish(4, 0), new Reply());
    await tick();
    assert.equal(r.writes.length, 1, 'one write for the tick');
    assert.deepEqual(r.events, []);
    r.writes[0]!.resolve();
    await tick();
    await tick();
    assert.deepEqual(r.events, ['publish t/1 conn-b:1', 'publish t/2 conn-b:2', 'publish t/3 -', 'publish t/4 -']);
    r.guard.onPublish(session, publish(5, 1), new Reply());
    assert.equal(r.events.at(-1), 'publish t/5 -', 'nothing waiting: at once');
  });

  test('a session not kept (expiry 0, or sessions off): every PUBLISH goes direct, no intent', () => {
    const r = rig({ persistent: false });
    r.guard.onPublish(session, publish(1), new Reply());
    assert.deepEqual(r.events, ['publish t/1 -']);
    assert.equal(r.writes.length, 0);
  });

  test('the intent could not be stored: the PUBLISH is not sent, the client is disconnected to send it again (0x89)', async () => {
    const r = rig();
    const reply = new Reply();
    r.guard.onPublish(session, publish(1), reply);
    await tick();
    r.writes[0]!.reject(new Error('Kafka down'));
    await tick();
    await tick();
    assert.deepEqual(r.events, []);
    assert.deepEqual(reply.answers, ['fail 137']);
  });

  test('Kafka refused the record (negative PUBREC): the intent is forgotten, the refusal reaches the client', async () => {
    const r = rig();
    const reply = new Reply();
    r.guard.onPublish(session, publish(1), reply);
    await tick();
    r.writes[0]!.resolve();
    await tick();
    assert.ok(r.intents.of(1) !== undefined);
    r.handed[0]!.reply.reject(0x97, 'quota');
    assert.equal(r.intents.of(1), undefined);
    assert.deepEqual(reply.answers, ['reject 151']);
  });

  test('a retransmission in doubt found in Kafka is acknowledged in line and not written again', async () => {
    const restored = new InboundIntents('conn-b', [{ packetId: 7, publishId: 'conn-a:3', at: 500 }]);
    const r = rig({ restored, found: () => Promise.resolve(true) });
    const reply = new Reply();
    r.guard.onPublish(session, publish(7), reply);
    r.guard.onPublish(session, publish(8, 1), new Reply());
    await tick();
    await tick();
    assert.deepEqual(r.queries, [{ kafkaTopic: 'telemetry', publishId: 'conn-a:3', at: 500 }], 'looked up by the stored publish id, from its arrival');
    assert.deepEqual(r.events, ['written', 'publish t/8 -'], 'acknowledged in its turn, the next one after it');
    assert.deepEqual(reply.answers, ['accept']);
    assert.deepEqual(r.counted, ['found']);
    assert.equal(r.writes.length, 0);
  });

  test('a retransmission in doubt not in Kafka is written with a new intent and publish id', async () => {
    const restored = new InboundIntents('conn-b', [{ packetId: 7, publishId: 'conn-a:3', at: 500 }]);
    const r = rig({ restored, found: () => Promise.resolve(false) });
    r.guard.onPublish(session, publish(7, 2, 2000), new Reply());
    await tick();
    await tick();
    assert.equal(r.writes.length, 1);
    r.writes[0]!.resolve();
    await tick();
    assert.deepEqual(r.events, ['publish t/7 conn-b:1']);
    assert.deepEqual(r.intents.of(7), { packetId: 7, publishId: 'conn-b:1', at: 2000 });
    assert.deepEqual(r.counted, ['not-found']);
  });

  test('a look-up that fails disconnects the client (0x89) without writing; what follows still goes on', async () => {
    const restored = new InboundIntents('conn-b', [{ packetId: 7, publishId: 'conn-a:3', at: 500 }]);
    const r = rig({ restored, found: () => Promise.reject(new Error('timeout')) });
    const reply = new Reply();
    r.guard.onPublish(session, publish(7), reply);
    r.guard.onPublish(session, publish(8, 1), new Reply());
    await tick();
    await tick();
    assert.deepEqual(reply.answers, ['fail 137']);
    assert.deepEqual(r.events, ['publish t/8 -']);
  });

  test('a look-up that fails three times for the same message: the third retransmission is written (counted), so a client is never held off for good', async () => {
    const restored = new InboundIntents('conn-b', [{ packetId: 7, publishId: 'conn-a:3', at: 500 }]);
    const r = rig({ restored, found: () => Promise.reject(new Error('timeout')) });
    const answers: string[][] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const reply = new Reply();
      r.guard.onPublish(session, publish(7), reply);
      await tick();
      await tick();
      answers.push(reply.answers);
    }
    assert.deepEqual(answers, [['fail 137'], ['fail 137'], []], 'sent away twice, then taken');
    r.writes[0]!.resolve();
    await tick();
    assert.deepEqual(r.events, ['publish t/7 conn-b:1']);
    assert.deepEqual(r.counted, ['given-up']);
  });

  test('a retransmission in doubt whose topic no rule maps is handed on (ingest refuses it) without a look-up', async () => {
    const restored = new InboundIntents('conn-b', [{ packetId: 7, publishId: 'conn-a:3', at: 500 }]);
    const r = rig({ restored });
    r.guard.onPublish(session, { ...publish(7), topic: 'unmapped/x' }, new Reply());
    await tick();
    r.writes[0]?.resolve();
    await tick();
    await tick();
    assert.deepEqual(r.queries, []);
    assert.deepEqual(r.events, ['publish unmapped/x conn-b:1']);
  });
});

describe('InboundIntents', () => {
  test('publish ids are the connection id and a sequence; a new intent replaces the old one of its packet id', () => {
    const intents = new InboundIntents('c1');
    assert.deepEqual(intents.begin(4, 10), { packetId: 4, publishId: 'c1:1', at: 10 });
    assert.deepEqual(intents.begin(4, 20), { packetId: 4, publishId: 'c1:2', at: 20 });
    assert.equal(intents.size, 1);
  });

  test('in doubt: every intent whose packet id the engine does not hold as awaiting PUBREL', () => {
    const intents = new InboundIntents('c1', [{ packetId: 9, publishId: 'c0:5', at: 1 }]);
    intents.begin(1, 2);
    intents.begin(2, 3);
    assert.deepEqual(intents.inDoubt([1]).map((i) => i.packetId), [9, 2]);
    assert.deepEqual(intents.inDoubt([1, 2, 9]), []);
    intents.forget(9);
    assert.equal(intents.of(9), undefined);
    assert.deepEqual(intents.inDoubt([]).map((i) => i.packetId), [1, 2]);
  });
});
