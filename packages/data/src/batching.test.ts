import { IMAGE_BYTES } from './cifar10';
import { batchIndices, epochOrder, stratifiedIndices, subsetSplit } from './batching';
import { Rng } from './random';
import { randomSplit } from './test-fixtures';

describe('epochOrder and batchIndices', () => {
  it('are reproducible from the seed, and differ between epochs', () => {
    const rng = Rng.fromSeed(1);
    const a = epochOrder(100, rng.fork('epoch-0'));
    expect(epochOrder(100, Rng.fromSeed(1).fork('epoch-0'))).toEqual(a);
    expect(epochOrder(100, rng.fork('epoch-1'))).not.toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('cut an order into batches, keeping or dropping the short last one', () => {
    const order = Uint32Array.from({ length: 10 }, (_, i) => 9 - i);
    expect(batchIndices(order, 4).map((b) => [...b])).toEqual([[9, 8, 7, 6], [5, 4, 3, 2], [1, 0]]);
    expect(batchIndices(order, 4, { dropLast: true }).map((b) => b.length)).toEqual([4, 4]);
    expect(batchIndices(order, 5, { dropLast: true }).length).toBe(2);
    expect(() => batchIndices(order, 0)).toThrow('batchIndices: batchSize must be a positive integer, got 0');
  });
});

describe('stratifiedIndices and subsetSplit', () => {
  const labels = Uint8Array.from([2, 0, 1, 0, 2, 1, 0, 2, 1, 1]);

  it('takes the first N of each class in data set order', () => {
    expect([...stratifiedIndices(labels, 2, 3)]).toEqual([0, 1, 2, 3, 4, 5]);
    expect([...stratifiedIndices(labels, 3, 3)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('refuses a class with too few images', () => {
    expect(() => stratifiedIndices(labels, 4, 3)).toThrow('stratifiedIndices: asked for 4 per class, but class 0 has 3, 2 has 3');
  });

  it('copies the chosen images and labels', () => {
    const split = randomSplit(20, 4);
    const picked = stratifiedIndices(split.labels, 1, 10);
    const subset = subsetSplit(split, picked);
    expect(subset.count).toBe(10);
    expect([...subset.labels]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(subset.images.subarray(3 * IMAGE_BYTES, 4 * IMAGE_BYTES)).toEqual(split.images.subarray(3 * IMAGE_BYTES, 4 * IMAGE_BYTES));
  });
});
