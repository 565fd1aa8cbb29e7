/**
 * MAE's per-sample random masking (random_masking in models_mae.py, He et al. 2022): argsort uniform
 * noise, keep the first floor(L * (1 - ratio)) indices, remove the rest. Done on the host (the noise
 * comes from a seeded Rng; argsort of 64 numbers per image costs nothing), and applied on the device
 * with one-hot selection matrices and batched matMul, so no gather and no gather gradient is needed.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@bmae/data';

/** One batch's masking, host side. Flat arrays are row-major. */
export interface Masking {
  batch: number;
  /** L, patches per image. */
  numPatches: number;
  /** Lk, patches the encoder sees. */
  numKept: number;
  /** [N, Lk] kept patch indices in shuffled order (MAE's ids_keep). */
  idsKeep: Int32Array;
  /** [N, L] position of each patch in the shuffled order (MAE's ids_restore). */
  idsRestore: Int32Array;
  /** [N, L], 1 = removed, 0 = kept, in original patch order. */
  mask: Float32Array;
}

/** floor(L * (1 - ratio)), as MAE's int(L * (1 - mask_ratio)). */
export function numKeptPatches(numPatches: number, maskRatio: number): number {
  return Math.floor(numPatches * (1 - maskRatio));
}

/**
 * Draws one batch's masking from `rng` (N * L uniforms, in row-major order).
 * @returns idsKeep [N, Lk], idsRestore [N, L], mask [N, L] (1 = removed)
 */
export function randomMasking(rng: Rng, batch: number, numPatches: number, maskRatio: number): Masking {
  const numKept = numKeptPatches(numPatches, maskRatio);
  if (numKept < 1 || numKept > numPatches) {
    throw new Error(`randomMasking: mask ratio ${maskRatio} keeps ${numKept} of ${numPatches} patches (must keep 1..${numPatches})`);
  }
  const noise = rng.fillUniform(new Float32Array(batch * numPatches));
  const idsKeep = new Int32Array(batch * numKept);
  const idsRestore = new Int32Array(batch * numPatches);
  const mask = new Float32Array(batch * numPatches);
  const order = new Array<number>(numPatches);
  for (let n = 0; n < batch; n++) {
    const row = n * numPatches;
    for (let i = 0; i < numPatches; i++) order[i] = i;
    // Ascending noise: small is keep (MAE). Array.prototype.sort is stable, so ties keep index order.
    order.sort((a, b) => noise[row + a] - noise[row + b]);
    for (let rank = 0; rank < numPatches; rank++) {
      const patch = order[rank];
      idsRestore[row + patch] = rank;
      if (rank < numKept) idsKeep[n * numKept + rank] = patch;
      else mask[row + patch] = 1;
    }
  }
  return { batch, numPatches, numKept, idsKeep, idsRestore, mask };
}

/**
 * One-hot matrix selecting the kept tokens: select[n, i, idsKeep[n, i]] = 1.
 * `tf.matMul(select, x)` maps x [N, L, D] to the visible tokens [N, Lk, D] in shuffled order.
 * @returns [N, Lk, L]
 */
export function selectionMatrix(masking: Masking): tf.Tensor3D {
  const { batch, numPatches, numKept, idsKeep } = masking;
  const values = new Float32Array(batch * numKept * numPatches);
  for (let n = 0; n < batch; n++) {
    for (let i = 0; i < numKept; i++) values[(n * numKept + i) * numPatches + idsKeep[n * numKept + i]] = 1;
  }
  return tf.tensor3d(values, [batch, numKept, numPatches]);
}

/**
 * The transpose of selectionMatrix: `tf.matMul(scatter, visible)` puts the visible tokens
 * [N, Lk, D] back at their patch positions in [N, L, D] (zeros where removed), which is MAE's
 * unshuffle with ids_restore for the kept tokens. Built on the host: no transposed matMul.
 * @returns [N, L, Lk]
 */
export function scatterMatrix(masking: Masking): tf.Tensor3D {
  const { batch, numPatches, numKept, idsKeep } = masking;
  const values = new Float32Array(batch * numPatches * numKept);
  for (let n = 0; n < batch; n++) {
    for (let i = 0; i < numKept; i++) values[(n * numPatches + idsKeep[n * numKept + i]) * numKept + i] = 1;
  }
  return tf.tensor3d(values, [batch, numPatches, numKept]);
}

/** @returns the mask as a tensor [N, L], 1 = removed */
export function maskTensor(masking: Masking): tf.Tensor2D {
  return tf.tensor2d(masking.mask, [masking.batch, masking.numPatches]);
}
