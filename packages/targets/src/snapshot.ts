/**
 * MAE-K, the "slow" bootstrap (Bootstrap-MAE report, section 4): the decoder regresses the
 * per-patch tokens of a frozen copy of the online encoder, re-copied every K epochs. Epochs
 * [0, K) are a plain pixel MAE (notes/method.md choice); the copy happens at the start of epochs
 * K, 2K, 3K, ...
 */
import type { SnapshotTargetConfig } from './config';
import { pixelTerm, PIXELS_HEAD } from './pixels';
import { checkStateKind, restoreTargetEncoder } from './restore';
import { isSnapshotEpoch, snapshotUsesFeatures } from './schedules';
import { prefixed, TargetEncoder } from './target-encoder';
import type { EncoderAccess, Target } from './target';

export function createSnapshotTarget(config: SnapshotTargetConfig, encoder: EncoderAccess): Target {
  const { name, every } = config;
  let targetEncoder: TargetEncoder | null = null;
  let updates = 0;
  let epochNow = 0;

  const target: Target = {
    kind: 'snapshot',
    name,
    heads: new Map([
      [PIXELS_HEAD, encoder.patchDim],
      [name, encoder.width],
    ]),
    compute(images, context) {
      if (!snapshotUsesFeatures(context.epoch, every)) return [pixelTerm(encoder, images, config.normPix)];
      if (!targetEncoder) {
        throw new Error(`MAE-K target "${name}" has no target encoder at epoch ${context.epoch}: call onEpochStart(epoch) first`);
      }
      return [{ head: name, weight: 1, value: targetEncoder.features(encoder, images, config.features) }];
    },
    onEpochStart(epoch) {
      epochNow = epoch;
      if (!isSnapshotEpoch(epoch, every)) return;
      if (targetEncoder) targetEncoder.copyFrom(encoder.online);
      else targetEncoder = TargetEncoder.copyOf(encoder.online, encoder.encoderNames);
      updates++;
    },
    onStepEnd() {},
    onEpochEnd() {},
    state: () => ({
      kind: 'snapshot',
      name,
      epoch: epochNow,
      mode: snapshotUsesFeatures(epochNow, every) ? 'features' : 'pixels',
      updates,
      tau: null,
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
