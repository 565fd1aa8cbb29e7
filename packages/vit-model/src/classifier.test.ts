import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@bmae/data';
import { selectBackend } from './backend';
import { createClassifierParams, dropPathRates, forwardClassifier, sampleDropPath, type ClassifierConfig } from './classifier';
import { maeConfig } from './config';
import { disposeParams, trainableVariables } from './params';
import { expectNoLeak } from './testing';

const encoder = maeConfig('micro').encoder;

describe('ViT classifier', () => {
  beforeAll(() => selectBackend({ name: 'cpu', log: () => {} }));

  it('has timm names: norm + head on CLS, or fc_norm + head when mean-pooling', () => {
    const cls = createClassifierParams(encoder, { numClasses: 10, globalPool: false, dropPathRate: 0 }, Rng.fromSeed(1));
    const pooled = createClassifierParams(encoder, { numClasses: 10, globalPool: true, dropPathRate: 0 }, Rng.fromSeed(1));
    expect([...cls.keys()].slice(-4)).toEqual(['norm.weight', 'norm.bias', 'head.weight', 'head.bias']);
    expect([...pooled.keys()].slice(-4)).toEqual(['fc_norm.weight', 'fc_norm.bias', 'head.weight', 'head.bias']);
    expect(cls.get('head.weight')!.shape).toEqual([64, 10]);
    expect(Math.max(...Array.from(cls.get('head.weight')!.dataSync()).map(Math.abs))).toBeLessThan(2e-4); // std 2e-5
    disposeParams(cls);
    disposeParams(pooled);
  });

  it('drop-path rates grow linearly with depth (timm linspace)', () => {
    expect(dropPathRates(5, 0.1).map((r) => +r.toFixed(6))).toEqual([0, 0.025, 0.05, 0.075, 0.1]);
    expect(dropPathRates(1, 0.1)).toEqual([0]);
  });

  it('samples drop-path scales of 0 or 1/keep, seeded', () => {
    const draw = () => sampleDropPath(Rng.fromSeed(4), 2000, [0, 0.25]);
    const scales = draw();
    expect(Array.from(scales[0].attn.dataSync()).every((v) => v === 1)).toBe(true);
    const values = Array.from(scales[1].mlp.dataSync());
    expect(new Set(values)).toEqual(new Set([0, Math.fround(1 / 0.75)]));
    const dropped = values.filter((v) => v === 0).length / values.length;
    expect(dropped).toBeGreaterThan(0.2);
    expect(dropped).toBeLessThan(0.3);
    const again = draw();
    expect(Array.from(again[1].mlp.dataSync())).toEqual(values);
    tf.dispose(scales.flatMap((s) => [s.attn, s.mlp]));
    tf.dispose(again.flatMap((s) => [s.attn, s.mlp]));
  });

  it('gives logits [N, classes]; drop path acts only in training; all weights get gradients; no leak', async () => {
    await selectBackend({ name: 'wasm', log: () => {} }); // full-image forwards: wasm keeps this test short
    const config: ClassifierConfig = { numClasses: 10, globalPool: true, dropPathRate: 0.5 };
    const params = createClassifierParams(encoder, config, Rng.fromSeed(2), 0.02);
    const imgs = tf.tensor4d(Rng.fromSeed(3).fillNormal(new Float32Array(4 * 32 * 32 * 3)), [4, 32, 32, 3]);
    const evalA = forwardClassifier(params, encoder, config, imgs);
    const evalB = forwardClassifier(params, encoder, config, imgs);
    expect(evalA.shape).toEqual([4, 10]);
    expect(Array.from(evalA.dataSync())).toEqual(Array.from(evalB.dataSync()));
    const rng = Rng.fromSeed(5);
    const trained = forwardClassifier(params, encoder, config, imgs, { rng });
    expect(Array.from(trained.dataSync())).not.toEqual(Array.from(evalA.dataSync()));
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 10);
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(labels, forwardClassifier(params, encoder, config, imgs, { rng })) as tf.Scalar,
      trainableVariables(params),
    );
    expect(Object.keys(grads)).toHaveLength(trainableVariables(params).length);
    tf.dispose([value, ...Object.values(grads), evalA, evalB, trained]);
    await expectNoLeak(() => void forwardClassifier(params, encoder, config, imgs, { rng }).dispose(), 2, 'classifier forward');
    tf.dispose([imgs, labels]);
    disposeParams(params);
    await selectBackend({ name: 'cpu', log: () => {} });
  });
});
