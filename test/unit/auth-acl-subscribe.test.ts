// Subscribe and delivery ACLs: Mosquitto's rule (an allow rule covers a subscription when every
// topic the subscription can match is matched by the rule's filter), access: publish | subscribe
// | both in the users file, and AccessControl.authorizeSubscribe / authorizeDelivery.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { createAccessControl } from '../../src/auth/access-control.js';
import { checkPublish, checkReceive, checkSubscribe, filterCovers, topicFilterProblem, type AclAccess, type AclPolicy, type AclRule } from '../../src/auth/acl.js';
import { parseUsersFile } from '../../src/auth/users-file.js';
import { ConfigError } from '../../src/config/index.js';
import { topicMatches } from '../../src/mqtt/topics.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { parseConfig } from '../../src/server/load-config.js';
import { Prng } from '../fuzz/prng.js';

const allow = (filter: string, access?: AclAccess): AclRule => ({ effect: 'allow', filter, ...(access && { access }) });
const deny = (filter: string, access?: AclAccess): AclRule => ({ effect: 'deny', filter, ...(access && { access }) });

function policy(parts: { users?: Record<string, AclRule[]>; authenticated?: AclRule[]; anonymous?: AclRule[] }): AclPolicy {
  return { users: new Map(Object.entries(parts.users ?? {})), authenticated: parts.authenticated ?? [], anonymous: parts.anonymous ?? [] };
}

describe('filterCovers: does a rule filter match every topic a subscription filter matches', () => {
  const cases: Array<[rule: string, subscription: string, covers: boolean]> = [
    ['devices/#', 'devices/+/status', true],
    ['devices/#', 'devices/#', true],
    ['devices/#', 'devices', true],
    ['devices/#', 'devices/a/b/c', true],
    ['devices/+', 'devices/#', false],
    ['devices/+', 'devices/+', true],
    ['devices/+', 'devices/a', true],
    ['devices/+', 'devices/a/b', false],
    ['devices/a', 'devices/+', false],
    ['devices/+/status', 'devices/+/+', false],
    ['devices/+/+', 'devices/+/status', true],
    ['#', '#', true],
    ['#', '+/+', true],
    ['#', 'anything', true],
    ['+', '#', false],
    ['+/#', '#', false],
    ['+/#', '+/#', true],
    ['a/b', 'a/b', true],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['a/b/#', 'a/#', false],
    ['a/#', 'a/b/#', true],
    ['a//b', 'a/+/b', false],
    ['a/+/b', 'a//b', true],
  ];
  for (const [rule, subscription, covers] of cases) {
    it(`${rule} ${covers ? 'covers' : 'does not cover'} ${subscription}`, () => assert.equal(filterCovers(rule, subscription), covers));
  }

  it('MQTT-4.7.2-1: a rule starting with a wildcard covers no subscription to $ topics', () => {
    assert.equal(filterCovers('#', '$SYS/#'), false);
    assert.equal(filterCovers('+/x', '$SYS/x'), false);
    assert.equal(filterCovers('#', '$SYS'), false);
    assert.equal(filterCovers('$SYS/#', '$SYS/+'), true);
    assert.equal(filterCovers('#', '+'), true, "'+' matches no $ topic either, so '#' covers it");
    assert.equal(filterCovers('#', 'a/$b'), true);
  });

  it('agrees with topic matching over every topic of a small universe (random filters, seeded)', () => {
    const seed = 0xc0ae;
    const levels = ['a', 'b', '$x', ''];
    const universe: string[] = [];
    const grow = (prefix: string[], depth: number): void => {
      if (prefix.length > 0) universe.push(prefix.join('/'));
      if (depth === 0) return;
      for (const level of [...levels, 'c']) grow([...prefix, level], depth - 1);
    };
    grow([], 5);
    const randomFilter = (rng: Prng): string => {
      const parts = Array.from({ length: rng.int(1, 3) }, () => rng.pick([...levels, '+', '+']));
      if (rng.chance(0.35)) parts.push('#');
      return parts.join('/');
    };
    for (let n = 0; n < 400; n++) {
      const rng = Prng.forItem(seed, n);
      const rule = randomFilter(rng);
      const subscription = randomFilter(rng);
      if (topicFilterProblem(rule) !== null || topicFilterProblem(subscription) !== null) continue;
      const witness = universe.find((topic) => topicMatches(subscription, topic) && !topicMatches(rule, topic));
      assert.equal(filterCovers(rule, subscription), witness === undefined, `seed ${seed} item ${n}: ${rule} over ${subscription}${witness === undefined ? '' : `, not ${witness}`}`);
    }
  });
});

describe('checkSubscribe and checkReceive', () => {
  const p = policy({
    users: { alice: [deny('devices/alice/secret/#'), allow('devices/alice/#')] },
    authenticated: [
      allow('devices/%u/#', 'subscribe'),
      allow('telemetry/%u/#', 'publish'),
      deny('admin/#'),
      allow('broadcast/#', 'both'),
      allow('commands/%c/+', 'subscribe'),
    ],
    anonymous: [allow('public/#')],
  });
  const alice = { username: 'alice', clientId: 'a-1' };
  const bob = { username: 'bob', clientId: 'b-1' };
  const anon = { username: undefined, clientId: 'x' };

  it('an allow rule decides only for the filters it covers; the first covering rule wins', () => {
    assert.equal(checkSubscribe(p, bob, 'devices/bob/#').allowed, true);
    assert.equal(checkSubscribe(p, bob, 'devices/bob/+/status').allowed, true);
    assert.equal(checkSubscribe(p, bob, 'devices/+/status').allowed, false, 'another device could be under +');
    assert.equal(checkSubscribe(p, bob, 'devices/#').allowed, false);
    assert.deepEqual(checkSubscribe(p, bob, '#'), { allowed: false, rule: undefined }, 'no rule covers #');
    assert.equal(checkSubscribe(p, bob, 'commands/b-1/x').allowed, true, '%c');
    assert.equal(checkSubscribe(p, bob, 'commands/b-1/#').allowed, false, "commands/b-1/+ does not cover '#' below it");
    assert.deepEqual(checkSubscribe(p, bob, 'admin/x').rule, deny('admin/#'));
    assert.equal(checkSubscribe(p, anon, 'public/+').allowed, true);
    assert.equal(checkSubscribe(p, anon, 'devices/+/x').allowed, false);
  });

  it('access: a publish-only rule never decides a subscription, a subscribe-only rule never a PUBLISH; both does both', () => {
    assert.equal(checkSubscribe(p, bob, 'telemetry/bob/#').allowed, false);
    assert.equal(checkPublish(p, bob, 'telemetry/bob/t').allowed, true);
    assert.equal(checkPublish(p, bob, 'devices/bob/t').allowed, false, 'devices/%u/# is a subscribe rule');
    assert.equal(checkSubscribe(p, bob, 'broadcast/#').allowed, true);
    assert.equal(checkPublish(p, bob, 'broadcast/x').allowed, true);
    assert.equal(checkSubscribe(p, alice, 'devices/alice/#').allowed, true, "alice's own rule (access absent: both)");
  });

  it('a deny rule decides a subscription it covers; a broader subscription is allowed and its deliveries checked one by one', () => {
    assert.equal(checkSubscribe(p, alice, 'devices/alice/secret/x').allowed, false);
    assert.equal(checkSubscribe(p, alice, 'devices/alice/secret/#').allowed, false);
    assert.equal(checkSubscribe(p, alice, 'devices/alice/#').allowed, true, 'the deny rule does not cover it: Mosquitto allows it');
    assert.equal(checkReceive(p, alice, 'devices/alice/status').allowed, true);
    assert.equal(checkReceive(p, alice, 'devices/alice/secret/key').allowed, false, 'but never delivers what the deny rule refuses');
    assert.equal(checkReceive(p, alice, 'devices/alice/secret').allowed, false, '# covers the parent level');
  });

  it('checkReceive uses subscribe rules only, by the concrete topic', () => {
    assert.equal(checkReceive(p, bob, 'devices/bob/x').allowed, true);
    assert.equal(checkReceive(p, bob, 'telemetry/bob/x').allowed, false, 'publish-only');
    assert.equal(checkReceive(p, bob, 'devices/alice/x').allowed, false);
    assert.equal(checkReceive(p, anon, 'public/a/b').allowed, true);
  });

  it('%u does not apply without a username, nor with / + # in it', () => {
    assert.equal(checkSubscribe(p, { username: 'x/y', clientId: 'c' }, 'devices/x/y/#').allowed, false);
    assert.equal(checkSubscribe(p, { username: '+', clientId: 'c' }, 'devices/+/#').allowed, false);
  });
});

describe('users file: access', () => {
  it('reads publish, subscribe and both; absent is both and is kept as written', () => {
    const db = parseUsersFile(
      `users:
  - username: a
    acl:
      - { allow: 'x/#', access: subscribe }
      - { deny: 'y', access: publish }
      - { allow: 'z', access: both }
      - { allow: 'w' }
`,
      'users.yaml',
    );
    assert.deepEqual(db.acl!.users.get('a'), [
      { effect: 'allow', filter: 'x/#', access: 'subscribe' },
      { effect: 'deny', filter: 'y', access: 'publish' },
      { effect: 'allow', filter: 'z', access: 'both' },
      { effect: 'allow', filter: 'w' },
    ]);
  });

  it('refuses another access value, naming file and path', () => {
    assert.throws(
      () => parseUsersFile("acl:\n  authenticated: [{ allow: 'x', access: read }, { access: subscribe }]\n", 'users.yaml'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems.map((p) => `${p.file}: ${p.path}: ${p.problem}`), [
          'users.yaml: acl.authenticated[0].access: expected publish, subscribe or both, got "read"',
          'users.yaml: acl.authenticated[1]: expected exactly one of { allow: FILTER } or { deny: FILTER }, and optionally access: publish, subscribe or both',
        ]);
        return true;
      },
    );
  });
});

describe('AccessControl.authorizeSubscribe and authorizeDelivery', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mkp-acl-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function accessControl(usersFileText: string | undefined) {
    let auth = 'auth: { anonymous: true }\n';
    if (usersFileText !== undefined) {
      const usersFile = join(dir, `users-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(usersFile, usersFileText);
      auth = `auth:\n  anonymous: true\n  usersFile: ${usersFile}\n`;
    }
    const config = parseConfig(`mappings: [{ name: all, match: '^(.*)$', topic: t }]\n${auth}`, 'test.yaml');
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const access = createAccessControl({ auth: config.auth, source: config.source, logger, metrics: createMetrics({ collectDefault: false }), watchIntervalMs: 0 });
    return { access, lines };
  }
  const session = (protocolVersion: number) => ({ username: 'dev-17' as string | undefined, clientId: 'c-17', protocolVersion, remoteAddress: '10.0.0.7', listener: 'tcp:1883' });

  it('without ACL rules every subscription and delivery is allowed', () => {
    const { access, lines } = accessControl(undefined);
    try {
      assert.equal(access.authorizeSubscribe(session(5), '#'), 'allow');
      assert.equal(access.authorizeDelivery(session(5), 'any/topic'), true);
      assert.equal(lines.length, 0);
    } finally {
      access.close();
    }
  });

  it('a refused filter is denied and logged once with the deciding rule; deliveries are checked silently', () => {
    const { access, lines } = accessControl(`acl:\n  authenticated:\n    - { deny: 'devices/%u/secret', access: subscribe }\n    - { allow: 'devices/%u/#', access: subscribe }\n`);
    try {
      assert.equal(access.authorizeSubscribe(session(5), 'devices/dev-17/#'), 'allow');
      assert.equal(access.authorizeSubscribe(session(5), 'devices/+/commands'), 'deny');
      assert.equal(access.authorizeSubscribe(session(4), 'devices/dev-17/secret'), 'deny');
      assert.equal(access.authorizeSubscribe({ ...session(5), username: undefined }, 'devices/dev-17/#'), 'deny', 'anonymous: no anonymous rules');
      const denials = lines.filter((line) => line.msg === 'subscribe denied by ACL');
      assert.equal(denials.length, 3);
      assert.deepEqual(
        denials.map((line) => [line.filter, line.rule, line.outcome, line.clientId]),
        [
          ['devices/+/commands', 'none matched', 'SUBACK 0x87 not authorized', 'c-17'],
          ['devices/dev-17/secret', 'deny: devices/%u/secret (subscribe)', 'SUBACK 0x80 failure', 'c-17'],
          ['devices/dev-17/#', 'none matched', 'SUBACK 0x87 not authorized', 'c-17'],
        ],
      );
      const before = lines.length;
      assert.equal(access.authorizeDelivery(session(5), 'devices/dev-17/commands'), true);
      assert.equal(access.authorizeDelivery(session(5), 'devices/dev-17/secret'), false);
      assert.equal(access.authorizeDelivery(session(5), 'devices/dev-18/commands'), false);
      assert.equal(lines.length, before, 'a denied delivery is not logged (per message)');
      assert.equal(access.authorizePublish(session(5), 'devices/dev-17/x'), 'deny', 'subscribe rules do not allow publishing');
    } finally {
      access.close();
    }
  });
});
