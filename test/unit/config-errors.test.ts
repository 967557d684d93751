import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, formatConfigProblem } from '../../src/config/errors.js';
import { closestKey, editDistance } from '../../src/config/suggest.js';

describe('ConfigError', () => {
  it('formats one problem as FILE: PATH: PROBLEM', () => {
    const error = new ConfigError('topic-mappings.yaml', 'mappings[1] "telemetry".match', 'invalid regular expression: x');
    assert.equal(error.message, 'topic-mappings.yaml: mappings[1] "telemetry".match: invalid regular expression: x');
    assert.equal(error.name, 'ConfigError');
    assert.ok(error instanceof Error);
    assert.deepEqual(error.problems, [{ file: 'topic-mappings.yaml', path: 'mappings[1] "telemetry".match', problem: 'invalid regular expression: x' }]);
  });
  it('leaves out an empty path', () => {
    assert.equal(new ConfigError('f.yaml', '', 'no such file').message, 'f.yaml: no such file');
    assert.equal(formatConfigProblem({ file: 'f', path: '', problem: 'p' }), 'f: p');
  });
  it('carries several problems, one line each, the first in file/path/problem', () => {
    const error = new ConfigError([
      { file: 'f.yaml', path: 'a', problem: 'one' },
      { file: 'f.yaml', path: 'b', problem: 'two' },
    ]);
    assert.equal(error.message, 'f.yaml: a: one\nf.yaml: b: two');
    assert.equal(error.path, 'a');
    assert.equal(error.problem, 'one');
    assert.equal(error.problems.length, 2);
    assert.ok(Object.isFrozen(error.problems) && Object.isFrozen(error.problems[1]));
  });
  it('keeps a cause', () => {
    const cause = new Error('ENOENT');
    assert.equal(new ConfigError('f', '', 'p', { cause }).cause, cause);
    assert.equal(new ConfigError([{ file: 'f', path: '', problem: 'p' }], { cause }).cause, cause);
  });
  it('needs at least one problem', () => {
    assert.throws(() => new ConfigError([]), TypeError);
  });
});

describe('closestKey', () => {
  const keys = ['brokers', 'clientId', 'acks', 'lingerMs', 'batchMaxRecords', 'batchMaxBytes'];
  it('finds typos, case and separator differences', () => {
    assert.equal(closestKey('clientid', keys), 'clientId');
    assert.equal(closestKey('client_id', keys), 'clientId');
    assert.equal(closestKey('client-id', keys), 'clientId');
    assert.equal(closestKey('brokres', keys), 'brokers');
    assert.equal(closestKey('broker', keys), 'brokers');
    assert.equal(closestKey('batchMaxRecord', keys), 'batchMaxRecords');
  });
  it('suggests nothing for unrelated keys', () => {
    assert.equal(closestKey('foo', keys), undefined);
    assert.equal(closestKey('compression', keys), undefined);
  });
  it('finds a dotted key written as nesting', () => {
    assert.equal(closestKey('topic', ['mappings', 'topic.regex.list']), 'topic.regex.list');
  });
  it('counts a swap of neighbours as one edit', () => {
    assert.equal(editDistance('acks', 'caks'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });
});
