/** Where the records of one produce request were written: partitions and consecutive offsets. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assignOffsets, writeReceipt } from '../../src/kafka/write-receipt.js';

describe('assignOffsets', () => {
  it('each partition\'s records take consecutive offsets from its base, in request order', () => {
    const records = [
      { topic: 'a', chosen: 7 },
      { topic: 'a', chosen: 4 },
      { topic: 'b', chosen: 0 },
      { topic: 'a', chosen: 10 },
    ];
    const counts = new Map([
      ['a', 3],
      ['b', 1],
    ]);
    const written = [
      { topic: 'a', partition: 1, offset: 100n },
      { topic: 'b', partition: 0, offset: 5n },
    ];
    assert.deepEqual(assignOffsets(records, counts, written), [
      { topic: 'a', partition: 1, offset: '100' },
      { topic: 'a', partition: 1, offset: '101' },
      { topic: 'b', partition: 0, offset: '5' },
      { topic: 'a', partition: 1, offset: '102' },
    ]);
  });

  it('unknown when the partition, the count or the base offset is missing', () => {
    const counts = new Map([['a', 2]]);
    assert.deepEqual(
      assignOffsets([{ topic: 'a', chosen: undefined }, { topic: 'x', chosen: 1 }, { topic: 'a', chosen: 1 }], counts, [{ topic: 'a', partition: 0, offset: 1n }]),
      [undefined, undefined, undefined],
    );
  });
});

describe('writeReceipt', () => {
  it('works the positions out once, when first asked', async () => {
    let asked = 0;
    const messages = [{ topic: 'a' }, { topic: 'a' }];
    const receipt = writeReceipt({
      messages,
      chosenPartition: () => 0,
      written: [{ topic: 'a', partition: 0, offset: 9n }],
      partitionCounts: () => {
        asked++;
        return Promise.resolve(new Map([['a', 1]]));
      },
    });
    assert.equal(asked, 0);
    assert.deepEqual(await receipt.position(1), { topic: 'a', partition: 0, offset: '10' });
    assert.deepEqual(await receipt.position(0), { topic: 'a', partition: 0, offset: '9' });
    assert.equal(asked, 1);
  });

  it('no positions (not an error) when the metadata cannot be read', async () => {
    const receipt = writeReceipt({ messages: [{ topic: 'a' }], chosenPartition: () => 0, written: [], partitionCounts: () => Promise.reject(new Error('down')) });
    assert.equal(await receipt.position(0), undefined);
  });
});
