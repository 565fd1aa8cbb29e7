/**
 * Transformer building blocks as pure functions over a parameter Map (names as timm's ViT Block,
 * Dosovitskiy et al. 2021 / timm 0.4.12 as used by MAE): pre-norm blocks, qkv with bias, attention
 * scale dh^-0.5 applied to q k^T, exact (erf) GELU, LayerNorm with a configurable eps. Plain tfjs ops
 * only: every backend runs them unchanged; backend gaps are patched in backend.ts, never here.
 * LayerNorm, GELU and the attention core run a backend's fused kernel where it registers one (fused.ts),
 * with the same closed-form gradients as their composites.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hasFusedKernel, runFused } from './fused';
import { param, type TensorMap } from './params';

/**
 * y = x W + b over the last axis.
 * @param x [..., in]
 * @returns [..., out], with W = `${prefix}.weight` [in, out], b = `${prefix}.bias` [out]
 */
export function linear(params: TensorMap, prefix: string, x: tf.Tensor): tf.Tensor {
  const weight = param(params, `${prefix}.weight`);
  const bias = param(params, `${prefix}.bias`);
  const [inDim, outDim] = weight.shape;
  // A 2-D product (rows = all tokens) is one GEMM on every backend, and its gradient needs no
  // reduction over broadcast batch dims.
  const rows = tf.reshape(x, [-1, inDim]);
  const y = tf.fused.matMul({ a: rows, b: weight, bias });
  return tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
}

/**
 * LayerNorm over the last axis with biased variance, as torch.nn.LayerNorm.
 * A custom gradient (the standard closed form, as PyTorch's layer_norm backward) keeps only x-hat and
 * 1/sigma for the backward pass instead of every intermediate of the autodiff chain, and needs about
 * half the backward ops: training memory and time both drop.
 * @param x [..., D]; weight `${prefix}.weight` [D], bias `${prefix}.bias` [D]
 */
export function layerNorm(params: TensorMap, prefix: string, x: tf.Tensor, eps: number): tf.Tensor {
  return layerNormOp(x, param(params, `${prefix}.weight`), param(params, `${prefix}.bias`), eps);
}

/**
 * y = (x - mean) / sqrt(var + eps) * weight + bias over the last axis, with gradients
 *   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  g = dy * weight,
 *   dweight = sum(dy * xhat),  dbias = sum(dy)  (sums over all leading axes).
 * @param x [..., D] @param weight [D] @param bias [D] @returns [..., D]
 */
export function layerNormOp(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  const op = tf.customGrad((xIn, wIn, bIn, save) => {
    const [input, w, b] = [xIn, wIn, bIn] as tf.Tensor[];
    const fused = hasFusedKernel('layerNorm');
    let value: tf.Tensor, xhat: tf.Tensor, rstd: tf.Tensor;
    if (fused) {
      [value, xhat, rstd] = runFused('layerNorm', { x: input, weight: w, bias: b }, { eps });
    } else {
      const { mean, variance } = tf.moments(input, -1, true);
      rstd = tf.rsqrt(tf.add(variance, eps));
      xhat = tf.mul(tf.sub(input, mean), rstd);
      value = tf.add(tf.mul(xhat, w), b);
    }
    (save as tf.GradSaveFunc)([xhat, rstd, w]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedXhat, savedRstd, savedW] = saved;
        // The backend is the one of the forward pass (rstd's shape tells the paths apart: [...] vs [..., 1]).
        if (fused && hasFusedKernel('layerNormGrad')) {
          return runFused('layerNormGrad', { dy, xhat: savedXhat, rstd: savedRstd, weight: savedW });
        }
        const width = savedW.shape[0];
        const r = savedRstd.rank === dy.rank ? savedRstd : tf.expandDims(savedRstd, -1);
        const g = tf.mul(dy, savedW);
        const meanG = tf.mean(g, -1, true);
        const meanGx = tf.mean(tf.mul(g, savedXhat), -1, true);
        const dx = tf.mul(tf.sub(tf.sub(g, meanG), tf.mul(savedXhat, meanGx)), r);
        const rows = tf.reshape(dy, [-1, width]);
        const dw = tf.sum(tf.mul(rows, tf.reshape(savedXhat, [-1, width])), 0);
        const db = tf.sum(rows, 0);
        return [dx, dw, db];
      },
    };
  });
  return op(x, weight, bias);
}

/** (x - mean) / sqrt(var + eps) over the last axis (biased variance): LayerNorm without affine. */
export function normaliseLastAxis(x: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  });
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * Exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) (torch.nn.GELU's default, not the tanh form),
 * with the closed-form gradient Phi(x) + x * phi(x) so that only x is kept for the backward pass.
 */
export const gelu = tf.customGrad((xIn, save) => {
  const x = xIn as tf.Tensor;
  (save as tf.GradSaveFunc)([x]);
  const value = hasFusedKernel('gelu') ? runFused('gelu', { x })[0] : tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
  return {
    value,
    gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => {
      if (hasFusedKernel('geluGrad')) return runFused('geluGrad', { x: saved, dy })[0];
      const cdf = tf.mul(tf.add(tf.erf(tf.mul(saved, Math.SQRT1_2)), 1), 0.5);
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(saved), -0.5)), INV_SQRT_2PI);
      return tf.mul(dy, tf.add(cdf, tf.mul(saved, pdf)));
    },
  };
}) as (x: tf.Tensor) => tf.Tensor;

/**
 * Multi-head self-attention (timm Attention): qkv -> softmax(q k^T * dh^-0.5) v -> proj.
 * @param x [N, T, D]
 * @returns [N, T, D]
 */
export function attention(params: TensorMap, prefix: string, x: tf.Tensor3D, heads: number): tf.Tensor3D {
  return tf.tidy(() => {
    const qkv = linear(params, `${prefix}.qkv`, x) as tf.Tensor3D; // [N, T, 3D], columns [q | k | v], heads contiguous
    return linear(params, `${prefix}.proj`, selfAttention(qkv, heads)) as tf.Tensor3D;
  });
}

/**
 * softmax(q k^T * dh^-0.5) v for every head, from the qkv Linear's output.
 * Where the backend registers the fused kernels, one kernel reads q, k, v in place and keeps only the
 * softmax for the backward pass; elsewhere the composite below, differentiated by autodiff.
 * @param qkv [N, T, 3D], columns [q | k | v], heads contiguous within each
 * @returns [N, T, D], heads as contiguous columns
 */
export function selfAttention(qkv: tf.Tensor3D, heads: number): tf.Tensor3D {
  const scale = (qkv.shape[2] / 3 / heads) ** -0.5;
  if (hasFusedKernel('attention') && hasFusedKernel('attentionGrad')) {
    const op = tf.customGrad((qkvIn, save) => {
      const [value, probs] = runFused('attention', { qkv: qkvIn as tf.Tensor }, { heads, scale });
      (save as tf.GradSaveFunc)([qkvIn as tf.Tensor, probs]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, [savedQkv, savedProbs]: tf.Tensor[]) =>
          runFused('attentionGrad', { dy, qkv: savedQkv, probs: savedProbs }, { heads, scale }),
      };
    });
    return op(qkv) as tf.Tensor3D;
  }
  return tf.tidy(() => {
    const [n, t, columns] = qkv.shape;
    const d = columns / 3;
    const dh = d / heads;
    // [N, T, 3H, dh] -> [N, 3H, T, dh]: rank-4 transposes only (some backends lack rank 5).
    const split = tf.transpose(tf.reshape(qkv, [n, t, 3 * heads, dh]), [0, 2, 1, 3]);
    const [q, k, v] = tf.split(split, 3, 1); // each [N, H, T, dh]
    const scores = tf.mul(tf.matMul(q, k, false, true), scale); // [N, H, T, T]
    const weights = tf.softmax(scores, -1);
    const context = tf.matMul(weights, v); // [N, H, T, dh]
    return tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [n, t, d]) as tf.Tensor3D; // heads back to contiguous columns
  });
}

/** fc1 -> GELU -> fc2. @param x [N, T, D] @returns [N, T, D] */
export function mlp(params: TensorMap, prefix: string, x: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => linear(params, `${prefix}.fc2`, gelu(linear(params, `${prefix}.fc1`, x))) as tf.Tensor3D);
}

/**
 * Per-sample residual-branch scales for stochastic depth (timm DropPath): each is [N, 1, 1] of
 * 0 (branch dropped) or 1 / keepProb. Absent = no drop path (evaluation, pre-training).
 */
export interface DropPathScales {
  attn: tf.Tensor3D;
  mlp: tf.Tensor3D;
}

/**
 * One pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)).
 * @param x [N, T, D]
 */
export function block(params: TensorMap, prefix: string, x: tf.Tensor3D, heads: number, eps: number, dropPath?: DropPathScales): tf.Tensor3D {
  return tf.tidy(() => {
    let branch = attention(params, `${prefix}.attn`, layerNorm(params, `${prefix}.norm1`, x, eps) as tf.Tensor3D, heads);
    if (dropPath) branch = tf.mul(branch, dropPath.attn);
    const afterAttention = tf.add(x, branch) as tf.Tensor3D;
    let mlpBranch = mlp(params, `${prefix}.mlp`, layerNorm(params, `${prefix}.norm2`, afterAttention, eps) as tf.Tensor3D);
    if (dropPath) mlpBranch = tf.mul(mlpBranch, dropPath.mlp);
    return tf.add(afterAttention, mlpBranch) as tf.Tensor3D;
  });
}

/**
 * tf.grads called from inside a custom gradient (i.e. during another backward pass). tfjs 4 keeps one
 * global tape: the inner call starts a fresh one and, finishing at depth 0, frees its saved tensors and
 * drops the tape, which the outer backward pass still needs to clean up afterwards. So the outer tape is
 * put back once the inner pass is done (the inner one is freed, as it should be, right away).
 */
function nestedGrads(f: (...args: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], dy: tf.Tensor): tf.Tensor[] {
  const state = tf.engine().state;
  const outerTape = state.activeTape;
  try {
    return tf.grads(f)(xs, dy);
  } finally {
    state.activeTape = outerTape;
  }
}

/** The parameters of one block, relative to its prefix, in a fixed order. */
export const BLOCK_PARAM_SUFFIXES = [
  'norm1.weight', 'norm1.bias', 'attn.qkv.weight', 'attn.qkv.bias', 'attn.proj.weight', 'attn.proj.bias',
  'norm2.weight', 'norm2.bias', 'mlp.fc1.weight', 'mlp.fc1.bias', 'mlp.fc2.weight', 'mlp.fc2.bias',
] as const;

/**
 * `block` with activation checkpointing (Chen et al. 2016, "Training Deep Nets with Sublinear Memory
 * Cost"): the forward pass keeps only the block's input; the backward pass runs the block again under
 * its own gradient tape. Same values and gradients as `block`, for one extra block forward, while a
 * training step holds one block's intermediates at a time instead of every block's (tfjs also keeps all
 * intermediate gradients until a backward pass ends, which this bounds the same way).
 * @param x [N, T, D] @returns [N, T, D]
 */
export function checkpointedBlock(params: TensorMap, prefix: string, x: tf.Tensor3D, heads: number, eps: number, dropPath?: DropPathScales): tf.Tensor3D {
  const names = BLOCK_PARAM_SUFFIXES.map((suffix) => `${prefix}.${suffix}`);
  const weights = names.map((name) => param(params, name));
  const scales = dropPath ? [dropPath.attn, dropPath.mlp] : [];
  // Weights and drop-path scales are inputs of the custom op (not closure captures): the backward pass
  // must get the weights' gradients, and the scales may be disposed by the caller's tidy before it runs.
  const run = (input: tf.Tensor, ws: tf.Tensor[], sc: tf.Tensor[]) =>
    block(new Map(names.map((name, i) => [name, ws[i]])), prefix, input as tf.Tensor3D, heads, eps,
      sc.length ? { attn: sc[0] as tf.Tensor3D, mlp: sc[1] as tf.Tensor3D } : undefined);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const inputs = args as tf.Tensor[];
    save(inputs);
    return {
      value: run(inputs[0], inputs.slice(1, 1 + names.length), inputs.slice(1 + names.length)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const savedScales = saved.slice(1 + names.length);
        const grads = nestedGrads((input: tf.Tensor, ...ws: tf.Tensor[]) => run(input, ws, savedScales), saved.slice(0, 1 + names.length), dy);
        return [...grads, ...savedScales.map((scale) => tf.zerosLike(scale))];
      },
    };
  });
  return op(x, ...weights, ...scales) as tf.Tensor3D;
}
