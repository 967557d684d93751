import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { gateReads } from '../../src/mqtt/read-gate.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('gateReads', () => {
  test('open: the parser pulls what arrived', () => {
    const stream = new PassThrough();
    const gate = gateReads(stream);
    stream.write('abc');
    assert.equal(gate.paused, false);
    assert.equal(String(stream.read()), 'abc');
  });

  test('paused: read() and read(null) get nothing and the bytes stay buffered', () => {
    const stream = new PassThrough();
    const gate = gateReads(stream);
    stream.write('abc');
    gate.pause();
    assert.equal(gate.paused, true);
    assert.equal(stream.read(), null);
    assert.equal(stream.read(null as unknown as undefined), null);
    assert.equal(stream.readableLength, 3);
  });

  test('paused: read(0), Node refilling its buffer, is not gated', () => {
    const stream = new PassThrough();
    const gate = gateReads(stream);
    gate.pause();
    stream.write('abc');
    // read(0) returns null by contract; what matters is that it reached the stream and did not count as a refused pull.
    assert.equal(stream.read(0), null);
    gate.resume();
    assert.equal(String(stream.read()), 'abc');
  });

  test('resume after a refused pull wakes the parser with a readable event, asynchronously', async () => {
    const stream = new PassThrough();
    const gate = gateReads(stream);
    gate.pause();
    stream.write('abc');
    assert.equal(stream.read(), null);
    let woken = 0;
    stream.on('readable', () => woken++);
    await tick();
    const before = woken;
    gate.resume();
    assert.equal(woken, before, 'not synchronously: the caller is still doing its accounting');
    await tick();
    assert.ok(woken > before);
    assert.equal(String(stream.read()), 'abc');
  });

  test('resume with no refused pull emits nothing', async () => {
    const stream = new PassThrough();
    const gate = gateReads(stream);
    gate.pause();
    let woken = 0;
    stream.on('readable', () => woken++);
    gate.resume();
    await tick();
    assert.equal(woken, 0);
  });

  test('paused again before the wake-up: the refused pull is remembered for the next resume', async () => {
    const stream = new PassThrough();
    const gate = gateReads(stream);
    let woken = 0;
    stream.on('readable', () => woken++);
    gate.pause();
    stream.write('abc');
    await tick();
    assert.equal(stream.read(), null);
    const before = woken;
    gate.resume();
    gate.pause();
    await tick();
    assert.equal(woken, before, 'paused when the wake-up came: nobody woken');
    gate.resume();
    await tick();
    assert.equal(woken, before + 1);
    assert.equal(String(stream.read()), 'abc');
  });

  test('a destroyed stream is not woken', async () => {
    const stream = new PassThrough();
    const gate = gateReads(stream);
    gate.pause();
    stream.write('abc');
    assert.equal(stream.read(), null);
    stream.destroy();
    let woken = 0;
    stream.on('readable', () => woken++);
    gate.resume();
    await tick();
    assert.equal(woken, 0);
  });
});
