// `mqtt-kafka-proxy passwd` as an operator runs it: a child process reading the password on stdin.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isParsedHash, parsePasswordHash, verifyPassword } from '../../src/auth/password-hash.js';
import { parseUsersFile } from '../../src/auth/users-file.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'mqtt-kafka-proxy');

function run(args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe('mqtt-kafka-proxy passwd', () => {
  test('prints a hash of the password read from stdin (the line break is not part of it); the hash verifies', async () => {
    const { code, stdout, stderr } = await run(['passwd'], 'S3cret pass wörd\n');
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+\n$/);
    const parsed = parsePasswordHash(stdout.trim());
    assert.ok(isParsedHash(parsed));
    assert.equal(await verifyPassword('S3cret pass wörd', parsed), true);
    assert.equal(await verifyPassword('S3cret pass wörd\n', parsed), false);
    assert.equal(await verifyPassword('s3cret pass wörd', parsed), false);
    // Ready to paste into a users file.
    const db = parseUsersFile(`users:\n  - username: alice\n    password: '${stdout.trim()}'\n`, 'users.yaml');
    assert.ok(db.users.get('alice')?.password);
  });

  test('without a trailing line break too; two runs give different salts', async () => {
    const [a, b] = await Promise.all([run(['passwd'], 'pw'), run(['passwd'], 'pw')]);
    assert.equal(a.code, 0);
    assert.notEqual(a.stdout, b.stdout);
    const parsed = parsePasswordHash(a.stdout.trim());
    assert.ok(isParsedHash(parsed) && (await verifyPassword('pw', parsed)));
  });

  test('an empty password, a multi-line one or an argument: exit 2 with a message', async () => {
    for (const [args, stdin, message] of [
      [['passwd'], '', /no password on stdin/],
      [['passwd'], '\n', /no password on stdin/],
      [['passwd'], 'a\nb\n', /must be one line/],
      [['passwd', 'secret'], '', /takes no arguments; the password is read from stdin/],
    ] as const) {
      const { code, stdout, stderr } = await run([...args], stdin);
      assert.equal(code, 2, JSON.stringify(stdin));
      assert.equal(stdout, '');
      assert.match(stderr, message);
    }
  });
});
