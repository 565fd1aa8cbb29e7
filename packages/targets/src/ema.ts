/**
 * EMA-MAE, the "fast" bootstrap (Bootstrap-MAE report, section 5): pixels for the first WSE
 * (warm-up starting) epochs, then a copy of the online encoder at the end of warm-up, then after
 * every later epoch target = (1 - tau) * target + tau * online. Per-step updates are an option
 * (notes/method.md choice).
 */
import type { EmaTargetConfig } from './config';
import { pixelTerm, PIXELS_HEAD } from './pixels';
import { checkStateKind, restoreTargetEncoder } from './restore';
import { emaUsesFeatures, isEmaCopyEpoch, isEmaUpdateEpoch } from './schedules';
import { prefixed, TargetEncoder } from './target-encoder';
import type { EncoderAccess, Target } from './target';

export function createEmaTarget(config: EmaTargetConfig, encoder: EncoderAccess): Target {
  const { name, tau, warmupEpochs, updateEvery } = config;
  let targetEncoder: TargetEncoder | null = null;
  let updates = 0;
  let epochNow = 0;

  const update = (): void => {
    if (!targetEncoder) throw new Error(`EMA target "${name}": update before the end-of-warm-up copy`);
    targetEncoder.emaUpdate(encoder.online, tau);
    updates++;
  };

  const target: Target = {
    kind: 'ema',
    name,
    heads: new Map([
      [PIXELS_HEAD, encoder.patchDim],
      [name, encoder.width],
    ]),
    compute(images, context) {
      if (!emaUsesFeatures(context.epoch, warmupEpochs)) return [pixelTerm(encoder, images, config.normPix)];
      if (!targetEncoder) {
        throw new Error(`EMA target "${name}" has no target encoder at epoch ${context.epoch}: call onEpochStart(epoch) first`);
      }
      return [{ head: name, weight: 1, value: targetEncoder.features(encoder, images, config.features) }];
    },
    onEpochStart(epoch) {
      epochNow = epoch;
      if (isEmaCopyEpoch(epoch, warmupEpochs) && !targetEncoder) {
        targetEncoder = TargetEncoder.copyOf(encoder.online, encoder.encoderNames);
        updates++;
      }
    },
    onStepEnd(context) {
      if (updateEvery === 'step' && emaUsesFeatures(context.epoch, warmupEpochs)) update();
    },
    onEpochEnd(epoch) {
      if (updateEvery === 'epoch' && isEmaUpdateEpoch(epoch, warmupEpochs)) update();
    },
    state: () => ({
      kind: 'ema',
      name,
      epoch: epochNow,
      mode: emaUsesFeatures(epochNow, warmupEpochs) ? 'features' : 'pixels',
      updates,
      tau,
    }),
    weights: () => (targetEncoder ? prefixed(name, targetEncoder.variables) : new Map()),
    restore(state, weights) {
      checkStateKind(target, state);
      targetEncoder?.dispose();
      targetEncoder = restoreTargetEncoder(name, state, weights, encoder);
      updates = state.updates;
      epochNow = state.epoch;
    },
    dispose() {
      targetEncoder?.dispose();
      targetEncoder = null;
    },
  };
  return target;
}
