/**
 * Learning-rate rules of MAE (He et al. 2022): the absolute lr is blr * batch / 256
 * (main_pretrain.py), and util/lr_sched.py adjust_learning_rate sets it every step from the
 * fractional epoch: linear warm-up from 0, then a half-cosine down to min_lr.
 */

/** lr = blr * effective batch / 256 (the linear scaling rule MAE uses). */
export function scaledLr(blr: number, batchSize: number): number {
  return (blr * batchSize) / 256;
}

export interface LrSchedule {
  /** peak lr, reached at the end of warm-up */
  lr: number;
  minLr: number;
  warmupEpochs: number;
  epochs: number;
}

/**
 * The lr at a fractional epoch (epoch + step / stepsPerEpoch), exactly MAE's adjust_learning_rate.
 * @param epoch fractional epoch in [0, epochs]
 */
export function lrAt(epoch: number, { lr, minLr, warmupEpochs, epochs }: LrSchedule): number {
  if (epoch < warmupEpochs) return (lr * epoch) / warmupEpochs;
  const progress = (epoch - warmupEpochs) / (epochs - warmupEpochs);
  return minLr + (lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

/** The fractional epoch MAE feeds the schedule at `stepInEpoch` of `epoch`. */
export function fractionalEpoch(epoch: number, stepInEpoch: number, stepsPerEpoch: number): number {
  return epoch + stepInEpoch / stepsPerEpoch;
}
