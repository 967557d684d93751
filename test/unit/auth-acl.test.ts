import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPublish, substitute, topicFilterProblem, topicMatches, type AclPolicy, type AclRule } from '../../src/auth/acl.js';

const allow = (filter: string): AclRule => ({ effect: 'allow', filter });
const deny = (filter: string): AclRule => ({ effect: 'deny', filter });

function policy(parts: { users?: Record<string, AclRule[]>; authenticated?: AclRule[]; anonymous?: AclRule[] }): AclPolicy {
  return { users: new Map(Object.entries(parts.users ?? {})), authenticated: parts.authenticated ?? [], anonymous: parts.anonymous ?? [] };
}

describe('topic filter matching (MQTT 4.7)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['a/+', 'a/b', true],
    ['a/+', 'a/', true],
    ['a/+', 'a', false],
    ['a/+', 'a/b/c', false],
    ['+/+', '/b', true],
    ['+', 'a', true],
    ['+', '/a', false],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/b/d', false],
    ['#', 'a', true],
    ['#', 'a/b/c', true],
    ['#', '/', true],
    ['a/#', 'a', true],
    ['a/#', 'a/b', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'ab', false],
    ['a/#', 'b/a', false],
    ['a/b/#', 'a', false],
    ['+/#', 'a/b', true],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
    ['a/$b', 'a/$b', true],
    ['A/b', 'a/b', false],
    ['a//b', 'a//b', true],
    ['a/+/b', 'a//b', true],
  ];
  for (const [filter, topic, expected] of cases) {
    it(`${filter} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(topic)}`, () => assert.equal(topicMatches(filter, topic), expected));
  }
});

describe('topic filter validation', () => {
  it('accepts valid filters', () => {
    for (const f of ['a', 'a/b', '#', '+', 'a/+/b', 'a/#', '+/+/#', '/', 'devices/%u/#', '%c', 'x/%u-%c/y']) assert.equal(topicFilterProblem(f), null, f);
  });
  it('refuses invalid ones with a reason', () => {
    assert.match(topicFilterProblem('')!, /empty/);
    assert.match(topicFilterProblem('a/#/b')!, /# must be a whole level and the last one/);
    assert.match(topicFilterProblem('a#')!, /# must be/);
    assert.match(topicFilterProblem('a/b+')!, /\+ must be a whole level/);
    assert.match(topicFilterProblem('a/%x')!, /only %u/);
    assert.match(topicFilterProblem('a/%')!, /only %u/);
    assert.match(topicFilterProblem('a\u0000b')!, /null character/);
  });
});

describe('%u and %c substitution', () => {
  it('replaces every occurrence, anywhere in a level', () => {
    assert.equal(substitute('d/%u/%c/%u-x', { username: 'alice', clientId: 'c1' }), 'd/alice/c1/alice-x');
    assert.equal(substitute('plain/#', { username: undefined, clientId: 'c' }), 'plain/#');
  });
  it('a rule with %u does not apply to a client without a username', () => {
    assert.equal(substitute('d/%u/#', { username: undefined, clientId: 'c' }), undefined);
  });
  it('a value with / + or # makes the rule not apply (no reaching into other subtrees)', () => {
    for (const bad of ['a/b', 'a+', '#', '+', '']) {
      assert.equal(substitute('d/%u/#', { username: bad, clientId: 'c' }), undefined, `username ${bad}`);
      assert.equal(substitute('d/%c/#', { username: 'u', clientId: bad }), undefined, `client id ${bad}`);
    }
  });
});

describe('checkPublish', () => {
  const p = policy({
    users: {
      alice: [deny('devices/alice/secret'), allow('devices/alice/#'), allow('shared/%c')],
      bob: [],
    },
    authenticated: [allow('devices/%u/#'), deny('devices/#'), allow('common/+')],
    anonymous: [allow('public/#')],
  });
  const alice = { username: 'alice', clientId: 'a-1' };
  const bob = { username: 'bob', clientId: 'b-1' };
  const carol = { username: 'carol', clientId: 'c-1' };
  const anon = { username: undefined, clientId: 'x' };

  it("a user's own rules come first; first match wins", () => {
    assert.equal(checkPublish(p, alice, 'devices/alice/secret').allowed, false);
    assert.deepEqual(checkPublish(p, alice, 'devices/alice/secret').rule, deny('devices/alice/secret'));
    assert.equal(checkPublish(p, alice, 'devices/alice/t').allowed, true);
    assert.equal(checkPublish(p, alice, 'shared/a-1').allowed, true);
    assert.equal(checkPublish(p, alice, 'shared/b-1').allowed, false);
  });

  it('then the rules for every authenticated client, with %u', () => {
    assert.equal(checkPublish(p, bob, 'devices/bob/t').allowed, true);
    assert.equal(checkPublish(p, bob, 'devices/alice/t').allowed, false);
    assert.deepEqual(checkPublish(p, bob, 'devices/alice/t').rule, deny('devices/#'));
    assert.equal(checkPublish(p, carol, 'devices/carol/x/y').allowed, true);
    assert.equal(checkPublish(p, carol, 'common/a').allowed, true);
    assert.equal(checkPublish(p, alice, 'common/a').allowed, true);
  });

  it('anonymous clients get the anonymous rules only', () => {
    assert.equal(checkPublish(p, anon, 'public/x').allowed, true);
    assert.equal(checkPublish(p, anon, 'common/a').allowed, false);
    assert.equal(checkPublish(p, carol, 'public/x').allowed, false);
  });

  it('nothing matched: denied, with no rule', () => {
    assert.deepEqual(checkPublish(p, carol, 'elsewhere'), { allowed: false, rule: undefined });
    assert.deepEqual(checkPublish(policy({}), alice, 'a'), { allowed: false, rule: undefined });
  });

  it('a username with / cannot use a %u rule to reach another subtree', () => {
    assert.equal(checkPublish(p, { username: 'bob/../alice', clientId: 'z' }, 'devices/bob/../alice/t').allowed, false);
    assert.equal(checkPublish(p, { username: 'x/y', clientId: 'z' }, 'devices/x/y/t').allowed, false);
  });
});
