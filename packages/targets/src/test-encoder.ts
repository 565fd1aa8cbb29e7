/**
 * A tiny stand-in encoder for target tests (not exported from the package): images [N, 2, 2, 2]
 * with 1x1 patches (L = 4, P*P*C = 2), tokens = patches @ w + b (D = 3) behind a zero CLS token,
 * and a stand-in "final norm" that doubles the tokens, so before/after norm differ.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EncoderAccess } from './target';

export function makeTestEncoder(): EncoderAccess & { online: Map<string, tf.Variable> } {
  const online = new Map<string, tf.Variable>([
    ['w', tf.variable(tf.tensor2d([1, 0, 2, 0, 1, -1], [2, 3]))],
    ['b', tf.variable(tf.tensor1d([0.5, -0.5, 0]))],
    ['decoder_embed.weight', tf.variable(tf.ones([3, 3]))],
  ]);
  return {
    online,
    encoderNames: ['w', 'b'],
    width: 3,
    patchDim: 2,
    patchify: (images) => tf.reshape(images, [images.shape[0], 4, 2]),
    encode(params, images, { beforeNorm }) {
      return tf.tidy(() => {
        const n = images.shape[0];
        const patches = tf.reshape(images, [n * 4, 2]);
        const tokens = tf.reshape(tf.add(tf.matMul(patches, params.get('w') as tf.Tensor2D), params.get('b')!), [n, 4, 3]);
        const withCls = tf.concat([tf.zeros([n, 1, 3]), tokens], 1) as tf.Tensor3D;
        return beforeNorm ? withCls : (tf.mul(withCls, 2) as tf.Tensor3D);
      });
    },
  };
}

/** Sets every online parameter to a constant, standing in for an optimiser step. */
export function setOnline(online: Map<string, tf.Variable>, value: number): void {
  tf.tidy(() => {
    for (const v of online.values()) v.assign(tf.fill(v.shape, value));
  });
}

export function disposeAll(map: Map<string, tf.Variable>): void {
  for (const v of map.values()) v.dispose();
}
