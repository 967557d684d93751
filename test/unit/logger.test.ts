import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { REDACT_PATHS, SECRET_FIELD_NAMES } from '../../src/observability/logger.js';

/** A logger with the proxy's redaction writing into `lines`. */
function capture(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: pino({ redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } }, sink), lines };
}

describe('log redaction', () => {
  for (const name of SECRET_FIELD_NAMES) {
    it(`never prints a ${name}, at the top or nested up to three levels`, () => {
      const { log, lines } = capture();
      log.info({ [name]: 'hunter2-top', a: { [name]: 'hunter2-1', b: { [name]: 'hunter2-2', c: { [name]: 'hunter2-3' } } } }, 'x');
      log.child({ [name]: 'hunter2-child' }).info('y');
      const text = lines.join('');
      assert.doesNotMatch(text, /hunter2/);
      assert.equal(text.split('[redacted]').length - 1, 5);
    });
  }
  it('leaves other fields alone', () => {
    const { log, lines } = capture();
    log.info({ clientId: 'c1', username: 'u1', topic: 't' }, 'x');
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(line.clientId, 'c1');
    assert.equal(line.username, 'u1');
  });
});
