import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@bmae/data';
import { selectBackend } from './backend';
import { maskTensor, numKeptPatches, randomMasking, scatterMatrix, selectionMatrix } from './masking';

describe('randomMasking', () => {
  beforeAll(() => selectBackend({ name: 'cpu', log: () => {} }));

  it('keeps exactly 25% of the patches of every sample, and the kept ones are unmasked', () => {
    const m = randomMasking(Rng.fromSeed(1), 8, 64, 0.75);
    expect(m.numKept).toBe(16);
    for (let n = 0; n < 8; n++) {
      const row = m.mask.slice(n * 64, (n + 1) * 64);
      expect(row.reduce((a, b) => a + b, 0)).toBe(48);
      const kept = m.idsKeep.slice(n * 16, (n + 1) * 16);
      expect(new Set(kept).size).toBe(16);
      for (const patch of kept) expect(row[patch]).toBe(0);
    }
  });

  it('idsRestore inverts the shuffle: the kept patches rank first, in idsKeep order', () => {
    const m = randomMasking(Rng.fromSeed(2), 4, 64, 0.75);
    for (let n = 0; n < 4; n++) {
      const restore = m.idsRestore.slice(n * 64, (n + 1) * 64);
      expect([...restore].sort((a, b) => a - b)).toEqual([...Array(64).keys()]); // a permutation
      for (let i = 0; i < 16; i++) expect(restore[m.idsKeep[n * 16 + i]]).toBe(i);
      for (let p = 0; p < 64; p++) expect(m.mask[n * 64 + p]).toBe(restore[p] >= 16 ? 1 : 0);
    }
  });

  it('is a pure function of the Rng stream', () => {
    const a = randomMasking(Rng.fromSeed(5), 2, 64, 0.75);
    const b = randomMasking(Rng.fromSeed(5), 2, 64, 0.75);
    const c = randomMasking(Rng.fromSeed(6), 2, 64, 0.75);
    expect(Array.from(a.idsKeep)).toEqual(Array.from(b.idsKeep));
    expect(Array.from(a.idsKeep)).not.toEqual(Array.from(c.idsKeep));
  });

  it('selects kept tokens and scatters them back to their positions', () => {
    const m = randomMasking(Rng.fromSeed(3), 2, 16, 0.75);
    expect(numKeptPatches(16, 0.75)).toBe(4);
    const x = tf.tensor3d(Array.from({ length: 2 * 16 * 3 }, (_, i) => i), [2, 16, 3]);
    const visible = tf.matMul(selectionMatrix(m), x);
    expect(visible.shape).toEqual([2, 4, 3]);
    const xv = x.arraySync();
    const vv = visible.arraySync() as number[][][];
    for (let n = 0; n < 2; n++) for (let i = 0; i < 4; i++) expect(vv[n][i]).toEqual(xv[n][m.idsKeep[n * 4 + i]]);
    const placed = tf.matMul(scatterMatrix(m), visible);
    const expected = tf.mul(x, tf.expandDims(tf.sub(1, maskTensor(m)), -1));
    expect(Array.from(placed.dataSync())).toEqual(Array.from(expected.dataSync()));
  });

  it('refuses a ratio that keeps nothing', () => {
    expect(() => randomMasking(Rng.fromSeed(1), 1, 64, 0.999)).toThrow('keeps 0 of 64 patches');
  });
});
