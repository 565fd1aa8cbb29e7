import { createEncoderParams, disposeParams, maeConfig } from '@bmae/vit-model';
import { Rng, loadCifar10, stratifiedIndices, subsetSplit } from '@bmae/data';
import * as tf from '@tensorflow/tfjs-core';
import { extractFeatures, type FeatureSet } from './features';
import { Lars } from './lars';
import { trainLinearProbe } from './linear-probe';
import { useCpuBackend, useWasmBackend } from '@bmae/vit-model';

/** Gaussian blobs: class c centred at 4 * e_c (plus an offset BatchNorm must remove). */
function blobs(count: number, dim: number, seed: number): FeatureSet {
  const rng = Rng.fromSeed(seed);
  const features = new Float32Array(count * dim);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % 4;
    for (let j = 0; j < dim; j++) features[i * dim + j] = 10 + rng.normal() + (j === labels[i] ? 4 : 0);
  }
  return { features, labels, count, width: dim };
}

describe('LARS (MAE util/lars.py)', () => {
  beforeAll(useCpuBackend);
  it('scales matrix updates by trust * |p| / |g|, leaves vectors alone, adds momentum', () => {
    const w = tf.variable(tf.tensor2d([[3, 4]]));
    const b = tf.variable(tf.tensor1d([1]));
    const lars = new Lars(new Map<string, tf.Variable>([['w', w], ['b', b]]));
    const grads = () => new Map<string, tf.Tensor>([['w', tf.tensor2d([[0.6, 0.8]])], ['b', tf.tensor1d([0.5])]]);
    lars.applyGradients(grads(), 1);
    // trust ratio 0.001 * 5 / 1: update (0.003, 0.004)
    expect(w.dataSync()[0]).toBeCloseTo(2.997, 6);
    expect(w.dataSync()[1]).toBeCloseTo(3.996, 6);
    expect(b.dataSync()[0]).toBeCloseTo(0.5, 6);
    lars.applyGradients(grads(), 1);
    // mu_b = 0.9 * 0.5 + 0.5
    expect(b.dataSync()[0]).toBeCloseTo(0.5 - 0.95, 6);
    lars.dispose();
    w.dispose();
    b.dispose();
  });
});

describe('trainLinearProbe', () => {
  beforeAll(useCpuBackend);
  it('separates Gaussian blobs and reports a curve, without leaking', () => {
    const before = tf.memory().numTensors;
    const result = trainLinearProbe(blobs(400, 8, 1), blobs(200, 8, 2), { numClasses: 4, epochs: 20, batchSize: 32, warmupEpochs: 1 });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.history).toHaveLength(20);
    expect(result.top1).toBeGreaterThan(0.85);
    expect(result.settings).toMatchObject({ lr: 6.4, epochs: 20, optimizer: expect.stringContaining('lars') });
  });
  it('refuses mismatched widths and too-large batches', () => {
    expect(() => trainLinearProbe(blobs(10, 8, 1), blobs(10, 4, 1), { numClasses: 4 })).toThrow('train features are 8 wide, test features 4');
    expect(() => trainLinearProbe(blobs(10, 8, 1), blobs(10, 8, 1), { numClasses: 4, batchSize: 64 })).toThrow('batch size 64 is larger than the 10 training samples');
  });
});

const realData = process.env.BMAE_DATA ? describe : describe.skip;
realData('random-init linear probe on real CIFAR-10 (BMAE_DATA)', () => {
  beforeAll(useWasmBackend);
  it('beats chance (10%) by a clear margin', async () => {
    const data = await loadCifar10({ source: process.env.BMAE_DATA });
    const train = subsetSplit(data.train, stratifiedIndices(data.train.labels, 100, 10));
    const test = subsetSplit(data.test, stratifiedIndices(data.test.labels, 30, 10));
    const config = maeConfig('micro');
    const params = createEncoderParams(config.encoder, Rng.fromSeed(0));
    const stats = { mean: data.mean, std: data.std };
    const trainFeatures = extractFeatures(params, config.encoder, train, stats);
    const testFeatures = extractFeatures(params, config.encoder, test, stats);
    disposeParams(params);
    const result = trainLinearProbe(trainFeatures, testFeatures, { numClasses: 10, epochs: 30, batchSize: 64, warmupEpochs: 3 });
    expect(result.top1).toBeGreaterThan(0.2);
  });
});
