/** `mqtt-kafka-proxy passwd`: a password hash for the users file. */
import { hashPassword } from '../auth/password-hash.js';

/**
 * `passwd`: reads a password from stdin (one line; the line break is not part of it) and prints
 * its hash for the users file.
 */
export async function passwd(input: NodeJS.ReadStream, output: NodeJS.WritableStream): Promise<number> {
  if (input.isTTY) {
    process.stderr.write('Type the password, then Enter and Ctrl-D. It is shown as typed: pipe it in to avoid that.\n');
  }
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (password === '') {
    process.stderr.write('mqtt-kafka-proxy passwd: no password on stdin (usage: mqtt-kafka-proxy passwd < FILE, or echo it in)\n');
    return 2;
  }
  if (password.includes('\n')) {
    process.stderr.write('mqtt-kafka-proxy passwd: the password must be one line\n');
    return 2;
  }
  output.write(`${await hashPassword(password)}\n`);
  return 0;
}
