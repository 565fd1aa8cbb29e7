import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@bmae/data';
import { createEncoderParams, disposeParams, forwardFeatures, maeConfig } from '@bmae/vit-model';
import * as tf from '@tensorflow/tfjs-core';
import { extractFeatures, readCachedFeatures, writeCachedFeatures } from './features';
import { useWasmBackend } from '@bmae/vit-model';

beforeAll(useWasmBackend);

describe('frozen features', () => {
  const { encoder } = maeConfig('micro');
  const rng = Rng.fromSeed(4);
  const split = { images: Uint8Array.from({ length: 5 * 3072 }, () => rng.int(256)), labels: Uint8Array.from([0, 1, 2, 3, 4]), count: 5 };
  const stats = { mean: [0.5, 0.5, 0.5] as [number, number, number], std: [0.25, 0.25, 0.25] as [number, number, number] };

  it('CLS features equal the encoder token 0 after the final norm, in batches of any size', () => {
    const params = createEncoderParams(encoder, Rng.fromSeed(1));
    const set = extractFeatures(params, encoder, split, stats, { batchSize: 2 });
    expect([set.count, set.width]).toEqual([5, 64]);
    const reference = tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from(split.images, (v) => (v / 255 - 0.5) / 0.25), [5, 32, 32, 3]);
      return tf.slice(forwardFeatures(params, encoder, x), [0, 0, 0], [5, 1, 64]).dataSync();
    });
    set.features.forEach((v, i) => expect(v).toBeCloseTo(reference[i], 4));
    const mean = extractFeatures(params, encoder, split, stats, { pool: 'mean' });
    expect(mean.features.length).toBe(5 * 64);
    disposeParams(params);
  });

  it('the cache round-trips exactly and ignores a different key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmae-features-'));
    const set = { features: Float32Array.from({ length: 12 }, (_, i) => i / 7), labels: Uint8Array.from([3, 1, 2]), count: 3, width: 4 };
    const file = join(dir, 'train.safetensors');
    await writeCachedFeatures(file, set, 'ckpt-a|data-b');
    expect(await readCachedFeatures(file, 'ckpt-a|data-b')).toEqual(set);
    expect(await readCachedFeatures(file, 'ckpt-c|data-b')).toBeNull();
    expect(await readCachedFeatures(join(dir, 'none.safetensors'), 'x')).toBeNull();
    rmSync(dir, { recursive: true, force: true });
  });
});
