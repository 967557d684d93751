import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NetworkError, ProtocolError } from '@platformatic/kafka';
import { sendUntil } from '../../src/kafka/send-until.js';

const options = { pauseMs: 10, maxPauseMs: 40, stopped: () => false };

describe('sendUntil: a batch that failed retriably is sent again until its deadline', () => {
  test('retries a refused connection until it succeeds', async () => {
    let attempts = 0;
    const failures: boolean[] = [];
    await sendUntil(
      async () => {
        attempts++;
        if (attempts < 4) throw new NetworkError('Connection to 127.0.0.1:9092 failed.');
      },
      Date.now() + 5000,
      { ...options, onFailure: (_error, retriable) => failures.push(retriable) },
    );
    assert.equal(attempts, 4);
    assert.deepEqual(failures, [true, true, true]);
  });

  test('gives up with the last error when the deadline leaves no room for another try', async () => {
    let attempts = 0;
    const started = Date.now();
    await assert.rejects(
      sendUntil(
        async () => {
          attempts++;
          throw new NetworkError('Connection closed');
        },
        started + 200,
        options,
      ),
      /Connection closed/,
    );
    const took = Date.now() - started;
    assert.ok(took < 250, `stopped at the deadline (${took} ms)`);
    // Pauses of 10, 20, 40, 40... ms: a handful of attempts fit in 200 ms.
    assert.ok(attempts >= 3 && attempts <= 8, `${attempts} attempts`);
  });

  test('does not retry what sending again cannot fix', async () => {
    let attempts = 0;
    await assert.rejects(
      sendUntil(
        async () => {
          attempts++;
          throw new ProtocolError('MESSAGE_TOO_LARGE');
        },
        Date.now() + 5000,
        options,
      ),
    );
    assert.equal(attempts, 1);
  });

  test('stops retrying once the sender is stopping', async () => {
    let attempts = 0;
    let stopping = false;
    await assert.rejects(
      sendUntil(
        async () => {
          attempts++;
          stopping = true;
          throw new NetworkError('Connection closed');
        },
        Date.now() + 5000,
        { ...options, stopped: () => stopping },
      ),
    );
    assert.equal(attempts, 1);
  });
});
