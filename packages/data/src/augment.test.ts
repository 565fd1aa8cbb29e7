import { IMAGE_BYTES } from './cifar10';
import {
  composeTransforms, gatherBatch, normalizeBatch, pretrainAugmentation, pretrainSampler, randomHorizontalFlip, randomResizedCrop, sampleCropBox,
  type ImageBatch,
} from './augment';
import type { Rgb } from './normalization';
import { Rng } from './random';
import { randomSplit } from './test-fixtures';

const split = randomSplit(8, 3);
const batchOf = (indices: number[]) => gatherBatch(split, indices);

/** A 32x32 image whose red value is its row, green its column, blue constant. */
function gradientBatch(): ImageBatch {
  const pixels = new Float32Array(IMAGE_BYTES);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      pixels[(y * 32 + x) * 3] = y;
      pixels[(y * 32 + x) * 3 + 1] = x;
      pixels[(y * 32 + x) * 3 + 2] = 5;
    }
  }
  return { pixels, count: 1, height: 32, width: 32, labels: new Uint8Array(1) };
}
const at = (batch: ImageBatch, n: number, y: number, x: number, c: number) => batch.pixels[((n * 32 + y) * 32 + x) * 3 + c];

describe('gatherBatch', () => {
  it('takes the images and labels at the indices, scaled to [0, 1]', () => {
    const batch = batchOf([5, 0]);
    expect(batch.count).toBe(2);
    expect([...batch.labels]).toEqual([split.labels[5], split.labels[0]]);
    expect(batch.pixels[7]).toBeCloseTo(split.images[5 * IMAGE_BYTES + 7] / 255, 7);
    expect(batch.pixels[IMAGE_BYTES + 7]).toBeCloseTo(split.images[7] / 255, 7);
    expect(() => batchOf([8])).toThrow('gatherBatch: index 8 out of range 0..7');
  });
});

describe('randomResizedCrop', () => {
  it('reproduces the input exactly when the crop is the whole image', () => {
    const batch = batchOf([0, 1, 2]);
    const out = randomResizedCrop({ scale: [1, 1], ratio: [1, 1] })(batch, Rng.fromSeed(1));
    expect(out.pixels).not.toBe(batch.pixels);
    expect(out.pixels).toEqual(batch.pixels);
  });

  it('samples bilinearly at pixel centers, clamped to the crop', () => {
    // Scale 1/4, ratio 1 -> a 16x16 crop enlarged 2x: output o samples crop row o/2 - 1/4.
    const rng = Rng.fromSeed(9);
    const box = sampleCropBox(Rng.fromSeed(9), 32, 32, [0.25, 0.25], [1, 1]);
    expect([box.height, box.width]).toEqual([16, 16]);
    const out = randomResizedCrop({ scale: [0.25, 0.25], ratio: [1, 1] })(gradientBatch(), rng);
    expect(at(out, 0, 0, 0, 0)).toBeCloseTo(box.top, 6); // -0.25 clamps to the crop's first row
    expect(at(out, 0, 1, 0, 0)).toBeCloseTo(box.top + 0.25, 6);
    expect(at(out, 0, 2, 0, 0)).toBeCloseTo(box.top + 0.75, 6);
    expect(at(out, 0, 31, 0, 0)).toBeCloseTo(box.top + 15, 6); // 15.25 clamps to the last row
    expect(at(out, 0, 0, 3, 1)).toBeCloseTo(box.left + 1.25, 6);
    expect(at(out, 0, 17, 9, 2)).toBe(5);
  });

  it('gives the same output for the same seed and a different one for another seed', () => {
    const crop = randomResizedCrop();
    const a = crop(batchOf([0, 1, 2, 3]), Rng.fromSeed(4));
    const b = crop(batchOf([0, 1, 2, 3]), Rng.fromSeed(4));
    const c = crop(batchOf([0, 1, 2, 3]), Rng.fromSeed(5));
    expect(a.pixels).toEqual(b.pixels);
    expect(a.pixels).not.toEqual(c.pixels);
  });

  it('rejects impossible ranges', () => {
    expect(() => randomResizedCrop({ scale: [0.5, 0.2] })).toThrow('randomResizedCrop: scale must satisfy 0 < min <= max <= 1, got [0.5,0.2]');
    expect(() => randomResizedCrop({ ratio: [0, 1] })).toThrow('randomResizedCrop: ratio must satisfy');
  });
});

describe('sampleCropBox (torchvision get_params)', () => {
  it('keeps crops inside the image with area and ratio within bounds (up to rounding)', () => {
    const rng = Rng.fromSeed(11);
    const violations: string[] = [];
    let minArea = Infinity, maxArea = 0;
    for (let i = 0; i < 5000; i++) {
      const box = sampleCropBox(rng, 32, 32, [0.2, 1], [3 / 4, 4 / 3]);
      const { top, left, height, width } = box;
      const area = (height * width) / 1024;
      minArea = Math.min(minArea, area);
      maxArea = Math.max(maxArea, area);
      // w and h are each rounded to integers: allow half a pixel either way.
      const ratioLow = (3 / 4) * ((width - 0.5) / (width + 0.5)) - 1e-9;
      const ratioHigh = (4 / 3) * ((width + 0.5) / (width - 0.5)) + 1e-9;
      const inside = top >= 0 && left >= 0 && top + height <= 32 && left + width <= 32;
      if (!inside || width / height < ratioLow || width / height > ratioHigh || area <= 0.2 * 0.8) violations.push(JSON.stringify(box));
    }
    expect(violations).toEqual([]);
    expect(minArea).toBeLessThan(0.25);
    expect(maxArea).toBeGreaterThan(0.9);
  });

  it('falls back to the center crop clamped to the ratio range when 10 tries fail', () => {
    // Ratio 2 at full area needs w = 45 > 32: every try fails, the fallback keeps w = 32, h = 16.
    expect(sampleCropBox(Rng.fromSeed(1), 32, 32, [1, 1], [2, 2])).toEqual({ top: 8, left: 0, height: 16, width: 32 });
    expect(sampleCropBox(Rng.fromSeed(1), 32, 32, [1, 1], [0.5, 0.5])).toEqual({ top: 0, left: 8, height: 32, width: 16 });
  });

  it('rounds half to even like Python round (12.5 -> 12, where Math.round gives 13)', () => {
    // area fraction 156.25 / 1024 gives sqrt = 12.5 for ratio 1: Python's round gives 12.
    const box = sampleCropBox(Rng.fromSeed(2), 32, 32, [156.25 / 1024, 156.25 / 1024], [1, 1]);
    expect([box.height, box.width]).toEqual([12, 12]);
  });
});

describe('randomHorizontalFlip', () => {
  it('flipping twice is the identity, and a flip mirrors the columns', () => {
    const original = gradientBatch();
    const flipAll = randomHorizontalFlip(1);
    const once = flipAll({ ...original, pixels: original.pixels.slice() }, Rng.fromSeed(0));
    expect(at(once, 0, 3, 0, 1)).toBe(31);
    expect(at(once, 0, 3, 31, 1)).toBe(0);
    expect(at(once, 0, 3, 5, 0)).toBe(3);
    const twice = flipAll(once, Rng.fromSeed(0));
    expect(twice.pixels).toEqual(original.pixels);
  });

  it('flips about half of the images at p = 0.5, reproducibly', () => {
    const batch = batchOf([0, 1, 2, 3, 4, 5, 6, 7]);
    const flipped = (seed: number) => {
      const out = randomHorizontalFlip(0.5)({ ...batch, pixels: batch.pixels.slice() }, Rng.fromSeed(seed));
      return Array.from({ length: 8 }, (_, n) => out.pixels[n * IMAGE_BYTES] !== batch.pixels[n * IMAGE_BYTES]);
    };
    expect(flipped(3)).toEqual(flipped(3));
    const counts = [1, 2, 3, 4, 5, 6].map((seed) => flipped(seed).filter(Boolean).length);
    expect(counts.reduce((a, b) => a + b)).toBeGreaterThan(12);
    expect(counts.reduce((a, b) => a + b)).toBeLessThan(36);
  });
});

describe('pipelines', () => {
  it('normalizeBatch applies (x - mean) / std per channel', () => {
    const batch = gradientBatch();
    const out = normalizeBatch({ mean: [1, 2, 3], std: [2, 4, 0.5] })(batch, Rng.fromSeed(0));
    expect(at(out, 0, 10, 6, 0)).toBeCloseTo((10 - 1) / 2, 6);
    expect(at(out, 0, 10, 6, 1)).toBeCloseTo((6 - 2) / 4, 6);
    expect(at(out, 0, 10, 6, 2)).toBeCloseTo((5 - 3) / 0.5, 6);
  });

  it('composeTransforms runs left to right on one stream; the pre-training pipeline is reproducible', () => {
    const order: string[] = [];
    const tag = (name: string) => (batch: ImageBatch) => (order.push(name), batch);
    composeTransforms(tag('a'), tag('b'), tag('c'))(batchOf([0]), Rng.fromSeed(0));
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('the fused pre-training augmentations equal gather + crop + flip + normalise with the same draws', () => {
    const stats = { mean: [0.5, 0.4, 0.3] as Rgb, std: [0.25, 0.2, 0.3] as Rgb };
    const indices = [7, 1, 2, 3, 0, 5, 6, 4, 1, 1];
    const composed = composeTransforms(randomResizedCrop(), randomHorizontalFlip(0.5), normalizeBatch(stats))(batchOf(indices), Rng.fromSeed(8));
    const fromFloats = pretrainAugmentation(stats)(batchOf(indices), Rng.fromSeed(8));
    const fromBytes = pretrainSampler(stats)(split, indices, Rng.fromSeed(8));
    for (const fused of [fromFloats, fromBytes]) {
      expect(fused.count).toBe(10);
      expect([...fused.labels]).toEqual(indices.map((i) => split.labels[i]));
      let maxDifference = 0;
      fused.pixels.forEach((v, i) => (maxDifference = Math.max(maxDifference, Math.abs(v - composed.pixels[i]))));
      expect(maxDifference).toBeLessThan(1e-5);
    }
    expect(pretrainSampler(stats)(split, indices, Rng.fromSeed(8)).pixels).toEqual(fromBytes.pixels);
    expect(pretrainSampler(stats)(split, indices, Rng.fromSeed(9)).pixels).not.toEqual(fromBytes.pixels);
    expect(() => pretrainSampler(stats)(split, [9], Rng.fromSeed(8))).toThrow('pretrainSampler: index 9 out of range 0..7');
  });
});
