import { IMAGE_BYTES } from './cifar10';
import { computeChannelStats, normalizeImages } from './normalization';
import { randomSplit } from './test-fixtures';

describe('computeChannelStats', () => {
  it('gives the exact per-channel mean and population std in [0, 1] scale', () => {
    // Two pixels: R = 0 and 255, G = 51 twice, B = 102 and 204.
    const stats = computeChannelStats(Uint8Array.from([0, 51, 102, 255, 51, 204]));
    expect(stats.mean[0]).toBeCloseTo(0.5, 12);
    expect(stats.mean[1]).toBeCloseTo(0.2, 12);
    expect(stats.mean[2]).toBeCloseTo(0.6, 12);
    expect(stats.std[0]).toBeCloseTo(0.5, 12);
    expect(stats.std[1]).toBeCloseTo(0, 12);
    expect(stats.std[2]).toBeCloseTo(0.2, 12);
  });

  it('refuses data that is not whole RGB pixels', () => {
    expect(() => computeChannelStats(new Uint8Array(4))).toThrow('computeChannelStats: 4 bytes is not a non-empty whole number of RGB pixels');
  });
});

describe('normalizeImages', () => {
  const split = randomSplit(3, 7);
  const stats = { mean: [0.4, 0.5, 0.6] as [number, number, number], std: [0.2, 0.25, 0.3] as [number, number, number] };

  it('maps uint8 to (x / 255 - mean) / std for every image', () => {
    const out = normalizeImages(split.images, stats);
    expect(out.length).toBe(3 * IMAGE_BYTES);
    for (const i of [0, 1, 2, 1000, 3 * IMAGE_BYTES - 1]) {
      const c = i % 3;
      expect(out[i]).toBeCloseTo((split.images[i] / 255 - stats.mean[c]) / stats.std[c], 5);
    }
  });

  it('takes a batch of indices in order', () => {
    const all = normalizeImages(split.images, stats);
    const batch = normalizeImages(split.images, stats, [2, 0]);
    expect(batch.subarray(0, IMAGE_BYTES)).toEqual(all.subarray(2 * IMAGE_BYTES));
    expect(batch.subarray(IMAGE_BYTES)).toEqual(all.subarray(0, IMAGE_BYTES));
    expect(() => normalizeImages(split.images, stats, [3])).toThrow('normalizeImages: index 3 out of range 0..2');
  });
});
