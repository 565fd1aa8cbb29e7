/**
 * MAE-K, the "slow" bootstrap (Bootstrap-MAE report, section 4): the decoder regresses the
 * per-patch tokens of a frozen copy of the online encoder, re-copied every K epochs. Epochs
 * [0, K) are a plain pixel MAE (notes/method.md choice); the copy happens at the start of epochs
 * K, 2K, 3K, ...
 */
import { createBootstrappedTarget } from './bootstrapped';
import type { SnapshotTargetConfig } from './config';
import { isSnapshotEpoch, snapshotUsesFeatures } from './schedules';
import type { EncoderAccess, Target } from './target';

export function createSnapshotTarget(config: SnapshotTargetConfig, encoder: EncoderAccess): Target {
  const { every } = config;
  return createBootstrappedTarget(config, encoder, {
    kind: 'snapshot',
    method: 'MAE-K',
    tau: null,
    usesFeatures: (epoch) => snapshotUsesFeatures(epoch, every),
    onEpochStart(epoch, slot) {
      if (isSnapshotEpoch(epoch, every)) slot.copyOnline();
    },
  });
}
