import * as tf from '@tensorflow/tfjs-core';
import { normaliseFeatures, normPixels } from './normalise';
import { useCpuBackend } from '@bmae/vit-model';

beforeAll(useCpuBackend);

describe('normPixels (MAE norm_pix_loss)', () => {
  it('uses the unbiased per-patch variance and eps 1e-6, as torch', () => {
    const out = tf.tidy(() => normPixels(tf.tensor3d([1, 2, 3, 4], [1, 1, 4])).arraySync()[0][0]);
    const sd = Math.sqrt(5 / 3 + 1e-6);
    [-1.5, -0.5, 0.5, 1.5].forEach((c, i) => expect(out[i]).toBeCloseTo(c / sd, 6));
  });
  it('refuses a 1-value patch (unbiased variance undefined)', () => {
    expect(() => normPixels(tf.zeros([1, 2, 1]) as tf.Tensor3D)).toThrow('at least 2 values per patch');
  });
});

describe('normaliseFeatures', () => {
  const tokens = () => tf.tensor3d([1, 3, 5, 7, 2, 2], [1, 2, 3]);
  it('layernorm standardises each token over its features (biased variance)', () => {
    const out = tf.tidy(() => normaliseFeatures(tokens(), 'layernorm').arraySync()[0]);
    const sd = Math.sqrt(8 / 3 + 1e-6);
    expect(out[0][0]).toBeCloseTo(-2 / sd, 6);
    expect(out[0][2]).toBeCloseTo(2 / sd, 6);
    expect(out[1][1]).toBeCloseTo((2 - 11 / 3) / Math.sqrt(((7 - 11 / 3) ** 2 + 2 * (2 - 11 / 3) ** 2) / 3 + 1e-6), 5);
  });
  it('instancenorm standardises each channel over the tokens', () => {
    const out = tf.tidy(() => normaliseFeatures(tokens(), 'instancenorm').arraySync()[0]);
    // channel 0 holds 1 and 7: mean 4, biased variance 9
    expect(out[0][0]).toBeCloseTo(-3 / Math.sqrt(9 + 1e-6), 6);
    expect(out[1][0]).toBeCloseTo(3 / Math.sqrt(9 + 1e-6), 6);
  });
  it('none returns the tokens unchanged', () => {
    expect(tf.tidy(() => normaliseFeatures(tokens(), 'none').arraySync())).toEqual(tokens().arraySync());
  });
});
