/**
 * What the two bootstrapped targets, MAE-K (snapshot.ts) and EMA-MAE (ema.ts), share: a frozen
 * target encoder that does not exist until the first copy, a count of its updates, pixels until
 * the schedule switches to its features, and the checkpoint plumbing. A variant supplies only its
 * schedule: when it regresses features, and what it does to the target encoder at each hook.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { EmaTargetConfig, SnapshotTargetConfig } from './config';
import { pixelTerm, PIXELS_HEAD } from './pixels';
import { checkStateKind, restoreTargetEncoder } from './restore';
import { prefixed, TargetEncoder } from './target-encoder';
import type { EncoderAccess, Target, TargetContext } from './target';

/** The target encoder of one bootstrapped target, as its schedule sees it. */
export class TargetEncoderSlot {
  encoder: TargetEncoder | null = null;
  /** copies plus EMA updates so far */
  updates = 0;

  constructor(
    private readonly label: string,
    private readonly access: EncoderAccess,
  ) {}

  get exists(): boolean {
    return this.encoder !== null;
  }

  /** target = online (allocating the copy the first time). */
  copyOnline(): void {
    if (this.encoder) this.encoder.copyFrom(this.access.online);
    else this.encoder = TargetEncoder.copyOf(this.access.online, this.access.encoderNames);
    this.updates++;
  }

  /** target = (1 - tau) * target + tau * online; only after a first copy. */
  emaUpdate(tau: number): void {
    if (!this.encoder) throw new Error(`${this.label}: update before the first copy of the online encoder`);
    this.encoder.emaUpdate(this.access.online, tau);
    this.updates++;
  }

  dispose(): void {
    this.encoder?.dispose();
    this.encoder = null;
  }
}

export interface BootstrapSchedule {
  kind: 'snapshot' | 'ema';
  /** the method's name in messages: 'MAE-K' or 'EMA' */
  method: string;
  /** the EMA coefficient reported in the state (null for MAE-K) */
  tau: number | null;
  /** true from the epoch on which the target encoder's features replace pixels */
  usesFeatures(epoch: number): boolean;
  onEpochStart(epoch: number, slot: TargetEncoderSlot): void;
  onStepEnd?(context: TargetContext, slot: TargetEncoderSlot): void;
  onEpochEnd?(epoch: number, slot: TargetEncoderSlot): void;
}

export function createBootstrappedTarget(
  config: SnapshotTargetConfig | EmaTargetConfig,
  access: EncoderAccess,
  schedule: BootstrapSchedule,
): Target {
  const { name } = config;
  const slot = new TargetEncoderSlot(`${schedule.method} target "${name}"`, access);
  let epochNow = 0;

  const target: Target = {
    kind: schedule.kind,
    name,
    heads: new Map([
      [PIXELS_HEAD, access.patchDim],
      [name, access.width],
    ]),
    compute(images: tf.Tensor4D, context) {
      if (!schedule.usesFeatures(context.epoch)) return [pixelTerm(access, images, config.normPix)];
      if (!slot.encoder) {
        throw new Error(`${schedule.method} target "${name}" has no target encoder at epoch ${context.epoch}: call onEpochStart(epoch) first`);
      }
      return [{ head: name, weight: 1, value: slot.encoder.features(access, images, config.features) }];
    },
    onEpochStart(epoch) {
      epochNow = epoch;
      schedule.onEpochStart(epoch, slot);
    },
    onStepEnd: (context) => schedule.onStepEnd?.(context, slot),
    onEpochEnd: (epoch) => schedule.onEpochEnd?.(epoch, slot),
    state: () => ({
      kind: schedule.kind,
      name,
      epoch: epochNow,
      mode: schedule.usesFeatures(epochNow) ? 'features' : 'pixels',
      updates: slot.updates,
      tau: schedule.tau,
    }),
    weights: () => (slot.encoder ? prefixed(name, slot.encoder.variables) : new Map()),
    restore(state, weights) {
      checkStateKind(target, state);
      slot.dispose();
      slot.encoder = restoreTargetEncoder(name, state, weights, access);
      slot.updates = state.updates;
      epochNow = state.epoch;
    },
    dispose: () => slot.dispose(),
  };
  return target;
}
