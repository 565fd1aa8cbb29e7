/** The MAE baseline target: the image's own patches (He et al. 2022, models_mae.py forward_loss). */
import * as tf from '@tensorflow/tfjs-core';
import type { PixelsTargetConfig } from './config';
import { normPixels } from './normalise';
import type { EncoderAccess, Target, TargetTerm } from './target';

export const PIXELS_HEAD = 'pixels';

/** @param images [N, H, W, C] -> term on the 'pixels' head, value [N, L, P*P*C] */
export function pixelTerm(encoder: EncoderAccess, images: tf.Tensor4D, normPix: boolean, weight = 1): TargetTerm {
  const value = tf.tidy(() => {
    const patches = encoder.patchify(images);
    return normPix ? normPixels(patches) : patches;
  });
  return { head: PIXELS_HEAD, weight, value };
}

export function createPixelsTarget(config: PixelsTargetConfig, encoder: EncoderAccess): Target {
  let epochNow = 0;
  return {
    kind: 'pixels',
    name: PIXELS_HEAD,
    heads: new Map([[PIXELS_HEAD, encoder.patchDim]]),
    compute: (images) => [pixelTerm(encoder, images, config.normPix)],
    onEpochStart: (epoch) => {
      epochNow = epoch;
    },
    onStepEnd: () => {},
    onEpochEnd: () => {},
    state: () => ({ kind: 'pixels', name: PIXELS_HEAD, epoch: epochNow, mode: 'pixels', updates: 0, tau: null }),
    weights: () => new Map(),
    restore: (state) => {
      epochNow = state.epoch;
    },
    dispose: () => {},
  };
}
