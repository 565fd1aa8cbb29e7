/**
 * EMA-MAE, the "fast" bootstrap (Bootstrap-MAE report, section 5): pixels for the first WSE
 * (warm-up starting) epochs, then a copy of the online encoder at the end of warm-up, then after
 * every later epoch target = (1 - tau) * target + tau * online. Per-step updates are an option
 * (notes/method.md choice).
 */
import { createBootstrappedTarget } from './bootstrapped';
import type { EmaTargetConfig } from './config';
import { emaUsesFeatures, isEmaCopyEpoch, isEmaUpdateEpoch } from './schedules';
import type { EncoderAccess, Target } from './target';

export function createEmaTarget(config: EmaTargetConfig, encoder: EncoderAccess): Target {
  const { tau, warmupEpochs, updateEvery } = config;
  return createBootstrappedTarget(config, encoder, {
    kind: 'ema',
    method: 'EMA',
    tau,
    usesFeatures: (epoch) => emaUsesFeatures(epoch, warmupEpochs),
    onEpochStart(epoch, slot) {
      if (isEmaCopyEpoch(epoch, warmupEpochs) && !slot.exists) slot.copyOnline();
    },
    onStepEnd(context, slot) {
      if (updateEvery === 'step' && emaUsesFeatures(context.epoch, warmupEpochs)) slot.emaUpdate(tau);
    },
    onEpochEnd(epoch, slot) {
      if (updateEvery === 'epoch' && isEmaUpdateEpoch(epoch, warmupEpochs)) slot.emaUpdate(tau);
    },
  });
}
