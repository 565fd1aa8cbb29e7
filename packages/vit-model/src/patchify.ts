/**
 * MAE's patchify / unpatchify (models_mae.py, He et al. 2022) for NHWC images: a patch is flattened in
 * (p, q, c) order (row inside the patch, column inside the patch, channel), patches in row-major order.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * @param imgs [N, H, W, C] with H = W a multiple of patchSize
 * @returns [N, L, P*P*C], L = (H/P)^2
 */
export function patchify(imgs: tf.Tensor4D, patchSize: number): tf.Tensor3D {
  const [n, h, w, c] = imgs.shape;
  if (h !== w || h % patchSize !== 0) {
    throw new Error(`patchify: images must be square with a side divisible by ${patchSize}, got [${imgs.shape}]`);
  }
  const side = h / patchSize;
  return tf.tidy(() => {
    // [N*side, P, side, P*C] -> [N*side, side, P, P*C]: rank 4, which every backend transposes.
    const rows = tf.reshape(imgs, [n * side, patchSize, side, patchSize * c]);
    return tf.reshape(tf.transpose(rows, [0, 2, 1, 3]), [n, side * side, patchSize * patchSize * c]);
  });
}

/**
 * Inverse of patchify.
 * @param patches [N, L, P*P*C]
 * @returns [N, H, W, C]
 */
export function unpatchify(patches: tf.Tensor3D, patchSize: number, channels: number): tf.Tensor4D {
  const [n, l, dim] = patches.shape;
  const side = Math.round(Math.sqrt(l));
  if (side * side !== l || dim !== patchSize * patchSize * channels) {
    throw new Error(`unpatchify: expected [N, side^2, ${patchSize * patchSize * channels}] patches, got [${patches.shape}]`);
  }
  return tf.tidy(() => {
    const grid = tf.reshape(patches, [n * side, side, patchSize, patchSize * channels]);
    return tf.reshape(tf.transpose(grid, [0, 2, 1, 3]), [n, side * patchSize, side * patchSize, channels]);
  });
}
