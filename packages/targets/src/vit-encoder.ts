/**
 * The EncoderAccess of a bmae ViT: targets run the model's own un-masked encoder
 * (forwardFeatures) on their non-trainable copies, and take pixels with the model's patchify.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { encoderParamNames, forwardFeatures, patchGrid, patchify, type EncoderConfig, type Params } from '@bmae/vit-model';
import type { EncoderAccess } from './target';

/** @param online the online MAE's parameters (encoder names among them) */
export function vitEncoderAccess(online: Params, encoder: EncoderConfig): EncoderAccess {
  return {
    online,
    encoderNames: encoderParamNames(encoder),
    width: encoder.width,
    patchDim: patchGrid(encoder).dim,
    // forwardFeatures only reads the map; a target encoder's map holds (non-trainable) variables too.
    encode: (params, images, { beforeNorm }) => forwardFeatures(params as Params, encoder, images, { beforeNorm }),
    patchify: (images: tf.Tensor4D) => patchify(images, encoder.patchSize),
  };
}
