import * as tf from '@tensorflow/tfjs-core';
import { AdamW } from './adamw';
import { clipGradNorm, globalNorm } from './grad-clip';
import { weightDecayGroups } from './param-groups';
import { useCpuBackend } from '@bmae/vit-model';

beforeAll(useCpuBackend);

const grads = [
  { w: [[0.1, 0.2, -0.3]], b: [1, -1], lr: 0.1 },
  { w: [[-0.5, 0, 0.25]], b: [0.2, 0.3], lr: 0.05 },
  { w: [[0.3, 0.3, 0.3]], b: [-2, 0], lr: 0.2 },
];

function makeParams() {
  return new Map<string, tf.Variable>([
    ['w', tf.variable(tf.tensor2d([[1, -2, 3]]))],
    ['b', tf.variable(tf.tensor1d([0.5, -0.5]))],
  ]);
}

function run(optimizer: AdamW, steps: typeof grads) {
  for (const g of steps) {
    const gradMap = new Map<string, tf.Tensor>([
      ['w', tf.tensor2d(g.w)],
      ['b', tf.tensor1d(g.b)],
    ]);
    optimizer.applyGradients(gradMap, g.lr);
    gradMap.forEach((t) => t.dispose());
  }
}

describe('AdamW', () => {
  it('matches torch.optim.AdamW step for step (betas 0.9/0.95, wd 0.05 on w only)', () => {
    const params = makeParams();
    const optimizer = new AdamW(params, weightDecayGroups(params, 0.05));
    run(optimizer, grads);
    // Reference: torch 1.13 AdamW in float64, same groups, grads and lrs.
    const w = params.get('w')!.dataSync();
    [0.9279414178266374, -2.259685611020214, 2.9752090068724897].forEach((v, i) => expect(w[i]).toBeCloseTo(v, 5));
    const b = params.get('b')!.dataSync();
    [0.41601175979242827, -0.3106637614647936].forEach((v, i) => expect(b[i]).toBeCloseTo(v, 5));
    const moments = optimizer.moments();
    const m = moments.get('exp_avg/w')!.dataSync();
    [-0.0069, 0.0462, 0.0282].forEach((v, i) => expect(m[i]).toBeCloseTo(v, 6));
    const v2 = moments.get('exp_avg_sq/w')!.dataSync();
    [0.01682625, 0.006305, 0.01153].forEach((v, i) => expect(v2[i]).toBeCloseTo(v, 6));
    expect(optimizer.step).toBe(3);
    expect(optimizer.kernel).toBe('tfjs');
    moments.forEach((t) => t.dispose());
    optimizer.dispose();
    params.forEach((p) => p.dispose());
  });

  it('a restored optimiser continues exactly like the original', () => {
    const a = makeParams();
    const optA = new AdamW(a, weightDecayGroups(a, 0.05));
    run(optA, grads.slice(0, 2));
    const b = new Map([...a].map(([k, v]) => [k, tf.variable(tf.clone(v))]));
    const optB = new AdamW(b, weightDecayGroups(b, 0.05));
    const saved = optA.moments();
    optB.restore(JSON.parse(JSON.stringify(optA.state())), saved);
    saved.forEach((t) => t.dispose());
    run(optA, grads.slice(2));
    run(optB, grads.slice(2));
    expect(Array.from(b.get('w')!.dataSync())).toEqual(Array.from(a.get('w')!.dataSync()));
    expect(Array.from(b.get('b')!.dataSync())).toEqual(Array.from(a.get('b')!.dataSync()));
    [optA, optB].forEach((o) => o.dispose());
    [a, b].forEach((m) => m.forEach((p) => p.dispose()));
  });

  it('names what is wrong with a checkpoint or a gradient', () => {
    const params = makeParams();
    const optimizer = new AdamW(params, weightDecayGroups(params, 0.05));
    const state = optimizer.state();
    expect(() => optimizer.restore(state, new Map())).toThrow('AdamW: the checkpoint lacks optimiser moment "exp_avg/w"');
    const saved = optimizer.moments();
    const wrong = new Map([...saved].map(([k, v]) => [k, k === 'exp_avg/b' ? tf.zeros([3]) : v]));
    expect(() => optimizer.restore(state, wrong)).toThrow('AdamW: moment "exp_avg/b" has shape [3], expected [2]');
    expect(() => optimizer.restore({ ...state, beta2: 0.999 }, saved)).toThrow('saved betas/eps');
    tf.dispose([...saved.values(), wrong.get('exp_avg/b')!]);
    expect(() => optimizer.applyGradients(new Map([['v', tf.zeros([1])]]), 0.1)).toThrow('AdamW: gradient for unknown parameter "v"');
    expect(() => new AdamW(params, new Map())).toThrow('AdamW: no parameter group for "w"');
    optimizer.dispose();
    params.forEach((p) => p.dispose());
  });

  it('does not leak: live tensors stay flat over steps and dispose frees every moment', () => {
    const params = makeParams();
    const before = tf.memory().numTensors;
    const optimizer = new AdamW(params, weightDecayGroups(params, 0.05));
    run(optimizer, grads.slice(0, 1));
    const after1 = tf.memory().numTensors;
    run(optimizer, grads);
    expect(tf.memory().numTensors).toBe(after1);
    const snapshot = optimizer.moments();
    const before4 = Array.from(snapshot.get('exp_avg/w')!.dataSync());
    run(optimizer, grads.slice(0, 1));
    expect(Array.from(snapshot.get('exp_avg/w')!.dataSync())).toEqual(before4); // a snapshot, not a view
    const later = optimizer.moments();
    expect(Array.from(later.get('exp_avg/w')!.dataSync())).not.toEqual(before4);
    [snapshot, later].forEach((moments) => moments.forEach((t) => t.dispose()));
    expect(tf.memory().numTensors).toBe(after1);
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    params.forEach((p) => p.dispose());
  });
});

describe('clipGradNorm', () => {
  it('scales by maxNorm / (norm + 1e-6) only when the norm exceeds maxNorm', () => {
    const grads = new Map<string, tf.Tensor>([['a', tf.tensor1d([3])], ['b', tf.tensor2d([[4]])]]);
    expect(globalNorm(grads).dataSync()[0]).toBeCloseTo(5, 6);
    const clipped = clipGradNorm(grads, 1);
    expect(clipped.norm.dataSync()[0]).toBeCloseTo(5, 6);
    expect(clipped.grads.get('a')!.dataSync()[0]).toBeCloseTo(0.6, 6);
    expect(clipped.grads.get('b')!.shape).toEqual([1, 1]);
    expect(clipped.grads.get('b')!.dataSync()[0]).toBeCloseTo(0.8, 6);
    const loose = clipGradNorm(grads, 10);
    expect(loose.grads.get('a')!.dataSync()[0]).toBe(3);
    expect(() => clipGradNorm(grads, 0)).toThrow('maxNorm must be > 0, got 0');
  });
});
