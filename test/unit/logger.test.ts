// The proxy's own logger, as the CLI makes it: JSON lines, or --log-pretty lines, with secrets
// masked wherever a log call would carry them.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, SECRET_FIELD_NAMES, type Logger } from '../../src/observability/logger.js';

/** createLogger writing into `lines` instead of stdout. */
function capture(options: { pretty?: boolean } = {}): { log: Logger; text: () => string; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger('debug', { ...options, destination }), text: () => lines.join(''), lines };
}

describe('createLogger', () => {
  for (const name of SECRET_FIELD_NAMES) {
    it(`never prints a ${name}, at the top or nested up to three levels, nor from a child logger`, () => {
      const { log, text } = capture();
      log.info({ [name]: 'hunter2-top', a: { [name]: 'hunter2-1', b: { [name]: 'hunter2-2', c: { [name]: 'hunter2-3' } } } }, 'x');
      log.child({ [name]: 'hunter2-child' }).info('y');
      assert.doesNotMatch(text(), /hunter2/);
      assert.equal(text().split('[redacted]').length - 1, 5);
    });
  }

  it('masks the fields a CONNECT or a Kafka config would carry: password, token, sasl.password, jwt.secret', () => {
    const { log, text } = capture();
    log.warn({ connect: { username: 'u1', password: 'pw-in-connect' }, token: 'eyJ-token', kafka: { sasl: { password: 'sasl-pw' } }, auth: { jwt: { secret: 'jwt-secret' } } }, 'x');
    const line = JSON.parse(text()) as Record<string, Record<string, unknown>>;
    assert.doesNotMatch(text(), /pw-in-connect|eyJ-token|sasl-pw|jwt-secret/);
    assert.equal(line.connect!.username, 'u1', 'the username stays');
    assert.equal(line.token, '[redacted]');
  });

  it('writes JSON lines with the level, the service name and other fields untouched', () => {
    const { log, lines } = capture();
    log.child({ clientId: 'c1', remoteAddress: '10.0.0.7', listener: 'tcp:1883' }).info({ topic: 't' }, 'hello');
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(line.level, 30);
    assert.equal(line.msg, 'hello');
    assert.equal(line.service, 'mqtt-kafka-proxy');
    assert.deepEqual([line.clientId, line.remoteAddress, line.listener, line.topic], ['c1', '10.0.0.7', 'tcp:1883', 't']);
  });

  it('follows the level it was given', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger('warn', { destination });
    log.info('quiet');
    log.warn('loud');
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { msg: string }).msg), ['loud']);
  });

  it('--log-pretty: readable lines, secrets masked there too', () => {
    const { log, text } = capture({ pretty: true });
    log.info({ password: 'hunter2', clientId: 'c1' }, 'hello');
    assert.doesNotMatch(text(), /hunter2/);
    assert.match(text(), /INFO.*hello/);
    assert.match(text(), /\[redacted\]/);
    assert.doesNotMatch(text(), /^\{/);
  });
});
