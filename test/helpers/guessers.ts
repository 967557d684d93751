/**
 * Password guessers on raw sockets, run in a worker thread so that their work (a thousand
 * connections a second and more) does not delay the event loop of the test that times real logins,
 * as an attacker's machine would not. Each guesser binds its own source address (any 127.x.y.z on
 * Linux), sends a 3.1.1 CONNECT with a wrong password, waits for the answer and tries again at once.
 */
import net from 'node:net';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { connectPacket } from './raw-mqtt.js';

export interface GuessersOptions {
  readonly port: number;
  readonly username: string;
  /** One guesser per entry, from that source address (entries may repeat). */
  readonly addresses: readonly string[];
  readonly durationMs: number;
}

export interface GuessCounts {
  readonly attempts: number;
  /** Checked and refused: CONNACK return code 4. */
  readonly checked: number;
  /** Refused unchecked, server busy: return code 3. */
  readonly busy: number;
  /** Closed without a CONNACK, or any other code. */
  readonly other: number;
}

/** Runs the guessers in a worker for `durationMs`; resolves with what they got. */
export function runGuessers(options: GuessersOptions): Promise<GuessCounts> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: options });
    worker.once('message', (counts: GuessCounts) => resolve(counts));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`guessers exited with code ${code}`));
    });
  });
}

function guessOnce(options: GuessersOptions, localAddress: string, n: number, sockets: Set<net.Socket>): Promise<number | 'closed'> {
  return new Promise((resolve) => {
    const socket = net.connect({ port: options.port, host: '127.0.0.1', localAddress, noDelay: true });
    sockets.add(socket);
    let code: number | 'closed' = 'closed';
    socket.once('connect', () => socket.write(connectPacket(`guess-${n}`, 4, { username: options.username, password: Buffer.from(`guess-${n}`) })));
    // CONNACK (3.1.1): 0x20 0x02 flags code. The proxy closes after a refusal, so the closing side
    // (and its TIME_WAIT) is the proxy's and the guessers' ephemeral ports are not used up.
    socket.on('data', (data) => {
      if (data[0] === 0x20 && data.length >= 4) code = data[3]!;
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      sockets.delete(socket);
      resolve(code);
    });
  });
}

async function guessUntilDone(options: GuessersOptions): Promise<GuessCounts> {
  const counts = { attempts: 0, checked: 0, busy: 0, other: 0 };
  const sockets = new Set<net.Socket>();
  let stopped = false;
  setTimeout(() => {
    stopped = true;
    // Guesses still waiting for their turn are abandoned, as a guesser would.
    for (const socket of sockets) socket.destroy();
  }, options.durationMs);
  let n = 0;
  await Promise.all(
    options.addresses.map(async (address) => {
      while (!stopped) {
        const code = await guessOnce(options, address, n++, sockets);
        if (stopped) break;
        counts.attempts++;
        if (code === 4) counts.checked++;
        else if (code === 3) counts.busy++;
        else counts.other++;
      }
    }),
  );
  return counts;
}

if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  void guessUntilDone(workerData as GuessersOptions).then((counts) => port.postMessage(counts));
}
