import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@bmae/data';
import { selectBackend } from './backend';
import { hasFusedKernel } from './fused';
import { BLOCK_PARAM_SUFFIXES, block, checkpointedBlock, gelu, layerNormOp, selfAttention } from './layers';

/** 'native' too where its addon is built: there the layers run its fused kernels, elsewhere their composites. */
const nativeBuilt = (() => {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@bmae/tfjs-backend-native');
    return true;
  } catch {
    return false;
  }
})();

const hostNormal = (seed: number, shape: number[]) => tf.tensor(Rng.fromSeed(seed).fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))), shape);

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** A block's parameters (prefix 'b'): matrices with std 1 / sqrt(fan-in), as a trained ViT's, so attention is not saturated. */
function blockParams(width: number, seed: number): Map<string, tf.Tensor> {
  const shapes: Record<string, number[]> = {
    'norm1.weight': [width], 'norm1.bias': [width], 'attn.qkv.weight': [width, 3 * width], 'attn.qkv.bias': [3 * width],
    'attn.proj.weight': [width, width], 'attn.proj.bias': [width], 'norm2.weight': [width], 'norm2.bias': [width],
    'mlp.fc1.weight': [width, 4 * width], 'mlp.fc1.bias': [4 * width], 'mlp.fc2.weight': [4 * width, width], 'mlp.fc2.bias': [width],
  };
  return new Map(BLOCK_PARAM_SUFFIXES.map((suffix, i) => {
    const shape = shapes[suffix];
    const values = Rng.fromSeed(seed * 100 + i).fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)));
    return [`b.${suffix}`, tf.mul(tf.tensor(values, shape), shape.length === 2 ? shape[0] ** -0.5 : 0.3)];
  }));
}

const blockInput = (shape: number[]) => Rng.fromSeed(42).fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)));

describe.each(['cpu', 'wasm', ...(nativeBuilt ? ['native' as const] : [])] as const)('custom-gradient layers on %s', (backend) => {
  beforeAll(() => selectBackend({ name: backend, log: () => {} }));
  afterAll(() => selectBackend({ name: 'cpu', log: () => {} }));

  it(`runs the fused kernels only where the backend registers them (${backend === 'native' ? 'fused' : 'composite'})`, () => {
    for (const kernel of ['layerNorm', 'layerNormGrad', 'gelu', 'geluGrad', 'attention', 'attentionGrad'] as const) expect(hasFusedKernel(kernel)).toBe(backend === 'native');
  });

  it('LayerNorm and GELU do not leak, forward and backward', () => {
    const x = hostNormal(5, [2, 17, 192]);
    const w = hostNormal(6, [192]);
    const b = hostNormal(7, [192]);
    const step = () => tf.tidy(() => tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(gelu(layerNormOp(xx, ww, bb, 1e-6))))([x, w, b]));
    tf.dispose(step());
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(step());
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, b]);
  });

  it('self-attention equals the plain formula per head: values and gradient (1 head, odd sizes too)', () => {
    for (const [n, t, heads, dh] of [[2, 17, 3, 16], [1, 7, 1, 5]]) {
      const qkv = hostNormal(8, [n, t, 3 * heads * dh]);
      const dy = hostNormal(9, [n, t, heads * dh]);
      // Each head h on its own: columns h*dh.. of the q, k and v thirds, no reshapes or transposes.
      const reference = (x: tf.Tensor) => {
        const d = heads * dh;
        const outs = [...Array(heads).keys()].map((h) => {
          const [q, k, v] = [0, 1, 2].map((part) => tf.slice(x, [0, 0, part * d + h * dh], [-1, -1, dh]) as tf.Tensor3D);
          return tf.matMul(tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(dh))), v);
        });
        return tf.concat(outs, 2);
      };
      expect(maxDiff(selfAttention(qkv as tf.Tensor3D, heads), reference(qkv))).toBeLessThan(1e-5);
      const custom = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(selfAttention(x as tf.Tensor3D, heads), dy)))(qkv);
      const auto = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(reference(x), dy)))(qkv);
      expect(maxDiff(custom, auto)).toBeLessThan(1e-4);
      tf.dispose([qkv, dy, custom, auto]);
    }
  });

  it('a block (plain and checkpointed) does not leak, forward and backward', () => {
    const width = 24;
    const params = blockParams(width, 3);
    const names = [...params.keys()];
    const x = tf.tensor(blockInput([2, 9, width]), [2, 9, width]);
    const ws = names.map((name) => params.get(name)!);
    const step = () => tf.tidy(() => [block, checkpointedBlock].flatMap((f) =>
      tf.grads((xx: tf.Tensor, ...w: tf.Tensor[]) => tf.sum(f(new Map(names.map((name, i) => [name, w[i]])), 'b', xx as tf.Tensor3D, 3, 1e-6)))([x, ...ws])));
    tf.dispose(step());
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(step());
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, ...ws]);
  });

  it('GELU is the exact erf form: values and gradient', () => {
    const x = tf.tensor1d([-3, -1, 0, 0.5, 1, 2]);
    // x * Phi(x), Phi from the erf identity (reference values: scipy.stats.norm.cdf)
    const expected = [-0.0040496, -0.15865525, 0, 0.34573123, 0.84134475, 1.95449974];
    const y = Array.from(gelu(x).dataSync());
    expected.forEach((v, i) => expect(y[i]).toBeCloseTo(v, 5));
    const reference = (t: tf.Tensor) => tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, Math.SQRT1_2)), 1));
    const dCustom = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gelu(t), tf.range(1, 7))))(x);
    const dAuto = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(reference(t), tf.range(1, 7))))(x);
    expect(maxDiff(dCustom, dAuto)).toBeLessThan(1e-5);
    // d/dx at 0 is Phi(0) = 0.5 (times the weight 3)
    expect(dCustom.dataSync()[2]).toBeCloseTo(1.5, 6);
    tf.dispose([x, dCustom, dAuto]);
  });

  it('LayerNorm forward and its three gradients equal autodiff of the plain formula', () => {
    const x = hostNormal(1, [3, 5, 16]);
    const w = hostNormal(2, [16]);
    const b = hostNormal(3, [16]);
    const dy = hostNormal(4, [3, 5, 16]);
    const eps = 1e-6;
    const reference = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => {
      const { mean, variance } = tf.moments(xx, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(xx, mean), tf.sqrt(tf.add(variance, eps))), ww), bb);
    };
    expect(maxDiff(layerNormOp(x, w, b, eps), reference(x, w, b))).toBeLessThan(1e-5);
    const custom = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(layerNormOp(xx, ww, bb, eps), dy)))([x, w, b]);
    const auto = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(reference(xx, ww, bb), dy)))([x, w, b]);
    custom.forEach((g, i) => {
      expect(g.shape).toEqual(auto[i].shape);
      expect(maxDiff(g, auto[i])).toBeLessThan(1e-4);
    });
    tf.dispose([x, w, b, dy, ...custom, ...auto]);
  });
});

(nativeBuilt ? describe : describe.skip)('a block on native (fused kernels) against cpu (composites)', () => {
  afterAll(() => selectBackend({ name: 'cpu', log: () => {} }));

  /** The block's output and the gradients of a weighted sum of it w.r.t. the input and all 12 parameters. */
  function run(backend: 'native' | 'cpu', shape: number[], heads: number): Float32Array[] {
    selectBackend({ name: backend, log: () => {} });
    return tf.tidy(() => {
      const params = blockParams(shape[2], 1);
      const names = [...params.keys()];
      const x = tf.tensor(blockInput(shape), shape);
      const dy = tf.tensor(Rng.fromSeed(7).fillNormal(new Float32Array(x.size)), shape);
      const f = (xx: tf.Tensor, ...ws: tf.Tensor[]) => block(new Map(names.map((name, i) => [name, ws[i]])), 'b', xx as tf.Tensor3D, heads, 1e-6);
      const y = f(x, ...names.map((name) => params.get(name)!));
      const grads = tf.grads((xx: tf.Tensor, ...ws: tf.Tensor[]) => tf.sum(tf.mul(f(xx, ...ws), dy)))([x, ...names.map((name) => params.get(name)!)]);
      return [y, ...grads].map((t) => t.dataSync() as Float32Array);
    });
  }

  // deit-tiny's encoder width and heads at 17 tokens; 1 head, batch 1, tokens not a multiple of 4 or 8.
  it.each([[[2, 17, 192], 3], [[1, 7, 12], 1], [[3, 13, 20], 4]] as const)('gives cpu\'s values and gradients for %j, %i heads', (shape, heads) => {
    const native = run('native', [...shape], heads);
    const cpu = run('cpu', [...shape], heads);
    native.forEach((values, i) => {
      let worst = 0;
      values.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - cpu[i][j]) / (1 + Math.abs(cpu[i][j])))));
      expect(worst).toBeLessThan(2e-5); // float32 rounding (measured: <= 8e-6)
    });
  });
});
