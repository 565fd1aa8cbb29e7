import * as tf from '@tensorflow/tfjs-core';
import { knnClassify } from './knn';
import { useCpuBackend } from '@bmae/vit-model';

beforeAll(useCpuBackend);

describe('knnClassify (DINO weighted kNN)', () => {
  const train = Float32Array.from([1, 0, 2, 0.2, 0, 1, 0.1, 0.9, -1, 0]);
  const labels = [0, 0, 1, 1, 2];
  const test = Float32Array.from([1, 0.05, 0, -3, 0.05, 1]);

  it('votes with exp(cosine / T) of the k nearest training samples', () => {
    const { scores, predicted } = knnClassify(train, labels, test, { k: 2, temperature: 0.5, numClasses: 3 });
    expect(Array.from(predicted)).toEqual([0, 0, 1]); // the 2nd is a tie between classes 0 and 2: first wins
    const cos = (a: number[], b: number[]) => (a[0] * b[0] + a[1] * b[1]) / Math.hypot(...a) / Math.hypot(...b);
    const expected0 = Math.exp(cos([1, 0.05], [1, 0]) / 0.5) + Math.exp(cos([1, 0.05], [2, 0.2]) / 0.5);
    expect(scores[0]).toBeCloseTo(expected0, 4);
    expect(scores[1]).toBe(0);
    expect(scores[2]).toBe(0);
    // (0, -3) is orthogonal to (1, 0) and (-1, 0), its two nearest: one vote of exp(0) each
    expect(scores[3 + 0]).toBeCloseTo(1, 5);
    expect(scores[3 + 2]).toBeCloseTo(1, 5);
  });

  it('gives the same answer whatever the chunk size, without leaking', () => {
    const before = tf.memory().numTensors;
    const a = knnClassify(train, labels, test, { k: 3, numClasses: 3, chunk: 1 });
    const b = knnClassify(train, labels, test, { k: 3, numClasses: 3, chunk: 100 });
    expect(Array.from(a.scores)).toEqual(Array.from(b.scores));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses bad shapes and settings', () => {
    expect(() => knnClassify(train, labels, test, { k: 6, numClasses: 3 })).toThrow('k must be an integer in [1, 5], got 6');
    expect(() => knnClassify(train, labels, Float32Array.from([1, 2, 3]), { numClasses: 3, k: 1 })).toThrow('not rows of width 2');
    expect(() => knnClassify(train, labels, test, { numClasses: 3, k: 1, temperature: 0 })).toThrow('temperature must be > 0');
  });
});
