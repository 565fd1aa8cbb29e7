import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@bmae/data';
import { selectBackend, type BackendName } from './backend';
import { maeConfig } from './config';
import { forwardDecoder, forwardEncoder, forwardFeatures, forwardLoss, forwardMae, normalisePixelTarget, pixelLoss } from './mae';
import { randomMasking } from './masking';
import { createMaeParams, disposeParams, trainableVariables, type Params } from './params';
import { describeOnBackends, expectNoLeak } from './testing';

const config = maeConfig('micro', { heads: { pixels: 48, ema: 64 } });

function images(seed: number, n: number): tf.Tensor4D {
  return tf.tensor4d(Rng.fromSeed(seed).fillNormal(new Float32Array(n * 32 * 32 * 3)), [n, 32, 32, 3]);
}

describe('MAE forward (micro preset, cpu)', () => {
  let params: Params;
  beforeAll(async () => {
    await selectBackend({ name: 'cpu', log: () => {} });
    params = createMaeParams(config, Rng.fromSeed(0));
  });
  afterAll(() => disposeParams(params));

  it('produces latent [N, 1+16, D] and one prediction per head [N, 64, K]', () => {
    const imgs = images(1, 3);
    const masking = randomMasking(Rng.fromSeed(2), 3, 64, 0.75);
    const latent = forwardEncoder(params, config.encoder, imgs, masking);
    expect(latent.shape).toEqual([3, 17, 64]);
    const predictions = forwardDecoder(params, config, latent, masking);
    expect([...predictions.keys()]).toEqual(['pixels', 'ema']);
    expect(predictions.get('pixels')!.shape).toEqual([3, 64, 48]);
    expect(predictions.get('ema')!.shape).toEqual([3, 64, 64]);
    tf.dispose([imgs, latent, ...predictions.values()]);
  });

  it('sees exactly the visible patches: with nothing removed, encoder tokens are the full forward, shuffled', () => {
    const imgs = images(3, 2);
    const masking = randomMasking(Rng.fromSeed(4), 2, 64, 0);
    const shuffled = forwardEncoder(params, config.encoder, imgs, masking).arraySync();
    const full = forwardFeatures(params, config.encoder, imgs).arraySync();
    for (let n = 0; n < 2; n++) {
      expect(shuffled[n][0][0]).toBeCloseTo(full[n][0][0], 5); // CLS
      for (let i = 0; i < 64; i += 9) {
        const patch = masking.idsKeep[n * 64 + i];
        for (let d = 0; d < 64; d += 13) expect(shuffled[n][1 + i][d]).toBeCloseTo(full[n][1 + patch][d], 4);
      }
    }
    imgs.dispose();
  });

  it('forwardFeatures returns [N, 1+L, D], beforeNorm skips only the final LayerNorm', () => {
    const imgs = images(5, 2);
    const after = forwardFeatures(params, config.encoder, imgs);
    const before = forwardFeatures(params, config.encoder, imgs, { beforeNorm: true });
    expect(after.shape).toEqual([2, 65, 64]);
    const { mean, variance } = tf.moments(after, -1); // norm.weight 1, bias 0 at init
    expect(Math.max(...Array.from(mean.dataSync()).map(Math.abs))).toBeLessThan(1e-5);
    expect(Math.abs(variance.dataSync()[0] - 1)).toBeLessThan(1e-3);
    expect(Math.abs(tf.moments(before, -1).variance.dataSync()[0] - 1)).toBeGreaterThan(1e-2);
    tf.dispose([imgs, after, before, mean, variance]);
  });

  it('forwardLoss averages the per-patch MSE over removed patches only', () => {
    const pred = tf.tensor3d([[[1, 1], [3, 3], [0, 2]]]); // [1, 3, 2]
    const target = tf.zeros([1, 3, 2]) as tf.Tensor3D;
    const mask = tf.tensor2d([[1, 0, 1]]);
    // per patch: 1, 9, 2; removed patches 0 and 2 -> (1 + 2) / 2
    expect(forwardLoss(pred, target, mask).dataSync()[0]).toBeCloseTo(1.5, 6);
    expect(() => forwardLoss(pred, tf.zeros([1, 3, 3]) as tf.Tensor3D, mask)).toThrow('pred [1,3,2] and target [1,3,3] differ');
    tf.dispose([pred, target, mask]);
  });

  it('normalises pixel targets per patch with the unbiased variance (torch.var)', () => {
    const target = tf.tensor3d([[[1, 2, 3, 6]]]); // mean 3, unbiased var (4+1+0+9)/3 = 14/3
    const out = Array.from(normalisePixelTarget(target).dataSync());
    const s = Math.sqrt(14 / 3 + 1e-6);
    [-2 / s, -1 / s, 0, 3 / s].forEach((v, i) => expect(out[i]).toBeCloseTo(v, 6));
    target.dispose();
  });

  it('gives every trainable variable a non-null gradient through the MAE loss', () => {
    const imgs = images(6, 2);
    const masking = randomMasking(Rng.fromSeed(7), 2, 64, 0.75);
    const { value, grads } = tf.variableGrads(() => {
      const { predictions, mask } = forwardMae(params, config, imgs, masking);
      const target = tf.randomNormal([2, 64, 64]) as tf.Tensor3D;
      // both heads in the loss, as MAE-new's two-target objective
      return tf.add(forwardLoss(predictions.get('pixels')!, tf.zeros([2, 64, 48]) as tf.Tensor3D, mask), forwardLoss(predictions.get('ema')!, target, mask));
    }, trainableVariables(params));
    const names = [...params.entries()].filter(([, v]) => v.trainable).map(([n, v]) => [n, v.name] as const);
    for (const [name, id] of names) {
      const g = grads[id];
      expect([name, g === undefined || g === null]).toEqual([name, false]);
      expect([name, Number.isFinite(tf.sum(tf.abs(g)).dataSync()[0])]).toEqual([name, true]);
    }
    expect(Object.keys(grads)).toHaveLength(names.length);
    // fixed position embeddings get none
    expect(grads[params.get('pos_embed')!.name]).toBeUndefined();
    tf.dispose([imgs, value, ...Object.values(grads)]);
  });
});

// On wasm: the same step is ~6x faster than on the pure-JS cpu backend and exercises the wasm work-arounds.
describe('MAE training step (micro preset, wasm)', () => {
  beforeAll(() => selectBackend({ name: 'wasm', log: () => {} }));
  afterAll(() => selectBackend({ name: 'cpu', log: () => {} }));

  it('loss falls over a few Adam steps on a fixed batch, without leaking tensors', async () => {
    const pixelConfig = maeConfig('micro');
    const params = createMaeParams(pixelConfig, Rng.fromSeed(11));
    const optimizer = tf.train.adam(3e-3, 0.9, 0.95);
    const imgs = images(12, 4);
    const masking = randomMasking(Rng.fromSeed(13), 4, 64, 0.75); // fixed, so the loss is comparable
    const step = () =>
      tf.tidy(() => {
        const loss = optimizer.minimize(() => pixelLoss(params, pixelConfig, imgs, masking), true, trainableVariables(params))!;
        return loss.dataSync()[0];
      });
    const first = step();
    const { afterFirst, afterLast } = await expectNoLeak(() => void step(), 3, 'MAE Adam step');
    expect(afterLast).toBe(afterFirst);
    let last = first;
    for (let i = 0; i < 6; i++) last = step();
    expect(last).toBeLessThan(0.8 * first);
    optimizer.dispose();
    imgs.dispose();
    disposeParams(params);
  });

  it('expectNoLeak names a leak', async () => {
    const kept: tf.Tensor[] = [];
    await expect(expectNoLeak(() => void kept.push(tf.zeros([1])), 2, 'leaky')).rejects.toThrow(/leaky leaks tensors: \d+ live after the first call, \d+ after 2 more/);
    tf.dispose(kept);
  });
});

// Every backend a run may pick computes the model as the exact cpu backend does: loss and every gradient.
describeOnBackends(['wasm', 'native', 'tfjs-node'], 'the MAE forward and gradients', (backend) => {
  it('give the cpu loss and gradients (float32 tolerance)', async () => {
    const pixelConfig = maeConfig('micro');
    const run = async (name: BackendName) => {
      await selectBackend({ name, log: () => {} });
      const params = createMaeParams(pixelConfig, Rng.fromSeed(21));
      const imgs = images(22, 2);
      const masking = randomMasking(Rng.fromSeed(23), 2, 64, 0.75);
      const { value, grads } = tf.variableGrads(() => pixelLoss(params, pixelConfig, imgs, masking), trainableVariables(params));
      const host = new Map([...params].filter(([, v]) => v.trainable).map(([n, v]) => [n, grads[v.name].dataSync().slice() as Float32Array]));
      const loss = value.dataSync()[0];
      tf.dispose([imgs, value, ...Object.values(grads)]);
      disposeParams(params);
      return { loss, grads: host };
    };
    const cpu = await run('cpu');
    const other = await run(backend);
    expect(other.loss).toBeCloseTo(cpu.loss, 4);
    expect([...other.grads.keys()]).toEqual([...cpu.grads.keys()]);
    for (const [name, expected] of cpu.grads) {
      const actual = other.grads.get(name)!;
      const scale = Math.max(1e-12, ...expected.map(Math.abs));
      let worst = 0;
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
      if (!(worst / scale < 1e-3)) throw new Error(`${name}: gradient differs from cpu's by ${worst / scale} of its largest entry`);
    }
  });
});
