import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@bmae/data';
import { selectBackend } from './backend';
import { createClassifierParams, forwardClassifier } from './classifier';
import { maeConfig } from './config';
import { pixelLoss } from './mae';
import { randomMasking } from './masking';
import { createMaeParams, disposeParams, trainableVariables, type Params } from './params';
import { expectNoLeak } from './testing';

/** Loss and every trainable gradient, as host arrays keyed by parameter name. */
function lossAndGrads(params: Params, loss: () => tf.Scalar): { loss: number; grads: Map<string, Float32Array> } {
  const { value, grads } = tf.variableGrads(loss, trainableVariables(params));
  const out = new Map([...params].filter(([, v]) => v.trainable).map(([name, v]) => [name, grads[v.name].dataSync() as Float32Array]));
  const result = { loss: value.dataSync()[0], grads: out };
  tf.dispose([value, ...Object.values(grads)]);
  return result;
}

function expectSameGrads(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [name, ga] of a) {
    const gb = b.get(name)!;
    let worst = 0;
    let scale = 1e-12;
    for (let i = 0; i < ga.length; i++) {
      worst = Math.max(worst, Math.abs(ga[i] - gb[i]));
      scale = Math.max(scale, Math.abs(ga[i]));
    }
    expect([name, worst / scale < 1e-4]).toEqual([name, true]);
  }
}

// wasm only: the mechanism is backend-independent (tfjs's tape), and wasm keeps the test short.
describe.each(['wasm'] as const)('activation checkpointing on %s', (backend) => {
  beforeAll(() => selectBackend({ name: backend, log: () => {} }));
  afterAll(() => selectBackend({ name: 'cpu', log: () => {} }));

  it('gives the MAE loss and gradients of the plain forward, without leaking', async () => {
    const config = maeConfig('micro');
    const params = createMaeParams(config, Rng.fromSeed(1));
    const imgs = tf.tensor4d(Rng.fromSeed(2).fillNormal(new Float32Array(2 * 32 * 32 * 3)), [2, 32, 32, 3]);
    const masking = randomMasking(Rng.fromSeed(3), 2, 64, 0.75);
    const plain = lossAndGrads(params, () => pixelLoss(params, config, imgs, masking));
    const recomputed = lossAndGrads(params, () => pixelLoss(params, config, imgs, masking, { checkpoint: true }));
    expect(recomputed.loss).toBeCloseTo(plain.loss, 6);
    expectSameGrads(recomputed.grads, plain.grads);
    await expectNoLeak(() => void lossAndGrads(params, () => pixelLoss(params, config, imgs, masking, { checkpoint: true })), 2, 'checkpointed step');
    imgs.dispose();
    disposeParams(params);
  });

  it('keeps the drop-path draw of the forward pass for the recomputation', () => {
    const encoder = maeConfig('micro').encoder;
    const config = { numClasses: 4, globalPool: false, dropPathRate: 0.5 };
    const params = createClassifierParams(encoder, config, Rng.fromSeed(4), 0.02);
    const imgs = tf.tensor4d(Rng.fromSeed(5).fillNormal(new Float32Array(4 * 32 * 32 * 3)), [4, 32, 32, 3]);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 4);
    // The same seed gives the same drop-path draw in both runs.
    const loss = (checkpoint: boolean) => () =>
      tf.losses.softmaxCrossEntropy(labels, forwardClassifier(params, encoder, config, imgs, { rng: Rng.fromSeed(6) }, { checkpoint })) as tf.Scalar;
    const plain = lossAndGrads(params, loss(false));
    const recomputed = lossAndGrads(params, loss(true));
    expect(recomputed.loss).toBeCloseTo(plain.loss, 6);
    expectSameGrads(recomputed.grads, plain.grads);
    tf.dispose([imgs, labels]);
    disposeParams(params);
  });
});
