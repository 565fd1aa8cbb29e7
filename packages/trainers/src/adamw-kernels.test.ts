import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW } from './adamw';
import { chooseAdamWKernel, type AdamWKernelName } from './adamw-kernels';
import { layerDecayGroups, weightDecayGroups } from './param-groups';
import { useCpuBackend } from '@bmae/vit-model';

// The addon is optional: without it the native suite is skipped, saying why.
function addonPath(): string | undefined {
  try {
    return join(require.resolve('@bmae/tfjs-backend-native'), '..', '..', 'build', 'Release', 'bmae_native.node');
  } catch {
    return undefined; // the optional package is not installed
  }
}
const addon = addonPath();
const describeNative = addon !== undefined && existsSync(addon) ? describe : describe.skip;

/** Deterministic values in [-scale, scale): a xorshift stream (test data only). */
function values(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed * 2654435761 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (((s >>> 0) % 2000) / 1000 - 1) * scale;
  }
  return out;
}

// A ViT's parameter kinds: decayed matrices, undecayed biases / norms / tokens; one above the
// native addon's threading threshold (64k elements).
const SHAPES: Record<string, number[]> = {
  cls_token: [1, 1, 16],
  pos_embed: [1, 5, 16],
  'blocks.0.attn.qkv.weight': [48, 16],
  'blocks.0.attn.qkv.bias': [48],
  'blocks.0.norm1.weight': [16],
  'blocks.0.mlp.fc1.weight': [300, 256],
  'head.weight': [10, 16],
};

function makeParams(): Map<string, tf.Variable> {
  return new Map(Object.entries(SHAPES).map(([name, shape], i) => [name, tf.variable(tf.tensor(values(shape.reduce((a, b) => a * b, 1), i + 1), shape), true)]));
}

/** Runs `steps` steps with seeded gradients (step k, parameter i), lr changing every step. */
function runSteps(optimizer: AdamW, params: Map<string, tf.Variable>, from: number, to: number): void {
  for (let k = from; k < to; k++) {
    const grads = new Map([...params].map(([name, p], i) => [name, tf.tensor(values(p.size, 100 * k + i + 7, 0.1), p.shape)]));
    optimizer.applyGradients(grads, 1e-3 * (1 + k));
    grads.forEach((g) => g.dispose());
  }
}

function withKernel(kernel: AdamWKernelName, params: Map<string, tf.Variable>, layerDecay = false): AdamW {
  const groups = layerDecay ? layerDecayGroups(params, { weightDecay: 0.05, layerDecay: 0.75, depth: 1 }) : weightDecayGroups(params, 0.05);
  return new AdamW(params, groups, { beta1: 0.9, beta2: 0.95, kernel });
}

function expectAllClose(actual: Map<string, tf.Tensor>, expected: Map<string, tf.Tensor>, tolerance: number): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [name, a] of actual) {
    const x = a.dataSync();
    const y = expected.get(name)!.dataSync();
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / (1e-3 + Math.abs(y[i])));
    if (worst > tolerance) throw new Error(`${name}: relative difference ${worst} > ${tolerance}`);
  }
}

describe('chooseAdamWKernel', () => {
  beforeAll(useCpuBackend);

  it('uses tfjs ops on a non-native backend unless native is forced', () => {
    expect(chooseAdamWKernel().name).toBe('tfjs');
    expect(chooseAdamWKernel('tfjs').name).toBe('tfjs');
  });
});

describeNative('AdamW on the native backend', () => {
  beforeAll(async () => {
    require('@bmae/tfjs-backend-native');
    tf.env().set('PROD', true);
    await tf.setBackend('native');
  });

  it('chooses the fused native kernel by default', () => {
    const params = makeParams();
    const optimizer = new AdamW(params, weightDecayGroups(params, 0.05));
    expect(optimizer.kernel).toBe('native');
    optimizer.dispose();
    params.forEach((p) => p.dispose());
  });

  it.each([false, true])('native and tfjs kernels give the same parameters and moments over 5 steps (layer decay %s)', (layerDecay) => {
    const a = makeParams();
    const b = makeParams();
    const native = withKernel('native', a, layerDecay);
    const ops = withKernel('tfjs', b, layerDecay);
    runSteps(native, a, 0, 5);
    runSteps(ops, b, 0, 5);
    // Same formula, float32 both ways; only the rounding of intermediate products differs.
    expectAllClose(a, b, 1e-5);
    const [mNative, mOps] = [native.moments(), ops.moments()];
    expectAllClose(mNative, mOps, 1e-5);
    // The parameters really moved (a no-op kernel would pass the comparison above).
    const fresh = makeParams();
    const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(a.get('head.weight')!, fresh.get('head.weight')!))).dataSync()[0]);
    expect(moved).toBeGreaterThan(5e-3);
    [mNative, mOps].forEach((m) => m.forEach((t) => t.dispose()));
    [native, ops].forEach((o) => o.dispose());
    [a, b, fresh].forEach((m) => m.forEach((p) => p.dispose()));
  });

  it('checkpointed moments resume exactly, and move between kernels', () => {
    const a = makeParams();
    const optA = withKernel('native', a);
    runSteps(optA, a, 0, 3);
    const saved = optA.moments();
    const state = JSON.parse(JSON.stringify(optA.state()));
    const copy = () => new Map([...a].map(([k, v]) => [k, tf.variable(tf.tensor(v.dataSync().slice(), v.shape))]));
    const b = copy();
    const c = copy();
    const optB = withKernel('native', b);
    const optC = withKernel('tfjs', c);
    optB.restore(state, saved);
    optC.restore(state, saved);
    saved.forEach((t) => t.dispose());
    const before = tf.memory().numTensors;
    runSteps(optA, a, 3, 6);
    runSteps(optB, b, 3, 6);
    runSteps(optC, c, 3, 6);
    expect(tf.memory().numTensors).toBe(before);
    for (const [name, p] of a) expect(Array.from(b.get(name)!.dataSync())).toEqual(Array.from(p.dataSync()));
    expectAllClose(c, a, 1e-5);
    [optA, optB, optC].forEach((o) => o.dispose());
    [a, b, c].forEach((m) => m.forEach((p) => p.dispose()));
  });
});
