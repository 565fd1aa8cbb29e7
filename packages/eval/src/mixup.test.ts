import { Rng } from '@bmae/data';
import { mixBatch, sampleBeta, sampleGamma, smoothOneHot } from './mixup';

describe('random draws', () => {
  it('Gamma and Beta have the right means', () => {
    const rng = Rng.fromSeed(1);
    const mean = (f: () => number, n = 4000) => Array.from({ length: n }, f).reduce((a, b) => a + b, 0) / n;
    expect(mean(() => sampleGamma(rng, 2.5))).toBeCloseTo(2.5, 0);
    expect(mean(() => sampleGamma(rng, 0.5))).toBeCloseTo(0.5, 1);
    expect(mean(() => sampleBeta(rng, 0.8, 0.8))).toBeCloseTo(0.5, 1);
    expect(mean(() => sampleBeta(rng, 2, 6))).toBeCloseTo(0.25, 1);
    expect(() => sampleGamma(rng, 0)).toThrow('gamma shape must be > 0');
  });
});

describe('mixBatch (timm Mixup, batch mode)', () => {
  const dims = { count: 3, height: 2, width: 2 };
  const labels = Uint8Array.from([0, 1, 2]);
  const image = (v: number) => new Array(12).fill(v);
  const fresh = () => Float32Array.from([...image(1), ...image(2), ...image(3)]);

  it('label smoothing: 1 - s + s/C on the label, s/C elsewhere', () => {
    expect(Array.from(smoothOneHot([1], 4, 0.1)).map((v) => Number(v.toFixed(6)))).toEqual([0.025, 0.925, 0.025, 0.025]);
  });

  it('unmixed batches keep their pixels and get smoothed one-hot targets', () => {
    const pixels = fresh();
    const out = mixBatch(pixels, labels, dims, Rng.fromSeed(2), { mixupAlpha: 0.8, cutmixAlpha: 1, prob: 0, labelSmoothing: 0, numClasses: 3 });
    expect(out).toMatchObject({ kind: 'none', lambda: 1 });
    expect(Array.from(pixels)).toEqual(Array.from(fresh()));
    expect(Array.from(out.targets)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it('mixup blends each image with the reversed batch, targets likewise', () => {
    const pixels = fresh();
    const { kind, lambda, targets } = mixBatch(pixels, labels, dims, Rng.fromSeed(3), { mixupAlpha: 0.8, cutmixAlpha: 0, labelSmoothing: 0, numClasses: 3 });
    expect(kind).toBe('mixup');
    expect(pixels[0]).toBeCloseTo(lambda * 1 + (1 - lambda) * 3, 5);
    expect(pixels[12]).toBeCloseTo(2, 5); // the middle image is mixed with itself
    expect(targets[0]).toBeCloseTo(lambda, 6);
    expect(targets[2]).toBeCloseTo(1 - lambda, 6);
  });

  it('cutmix pastes a box from the reversed batch and sets lambda to the kept area', () => {
    for (let seed = 0; seed < 20; seed++) {
      const pixels = fresh();
      const { kind, lambda, targets } = mixBatch(pixels, labels, dims, Rng.fromSeed(seed), { mixupAlpha: 0, cutmixAlpha: 1, labelSmoothing: 0, numClasses: 3 });
      expect(kind).toBe('cutmix');
      const first = Array.from(pixels.subarray(0, 12));
      expect(first.every((v) => v === 1 || v === 3)).toBe(true);
      expect(first.filter((v) => v === 1).length / 12).toBeCloseTo(lambda, 6);
      expect(targets[0] + targets[2]).toBeCloseTo(1, 6);
    }
  });
});
