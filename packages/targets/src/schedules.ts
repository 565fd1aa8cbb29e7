/**
 * When bootstrapped targets change, as pure functions of the epoch (0-based), so a schedule is
 * tested without a model and a resumed run takes the same decisions.
 *
 * MAE-K (Bootstrap-MAE report, section 4; choices fixed in notes/method.md): epochs [0, K)
 * reconstruct pixels; at the start of epochs K, 2K, 3K, ... the target encoder is set equal to
 * the online encoder. EMA-MAE (report, section 5): pixels for the first WSE epochs; at the end of
 * warm-up the target is copied, then after every later epoch (or step)
 * target = (1 - tau) * target + tau * online.
 */

/** True when MAE-K copies the online encoder into the target at the start of `epoch`. */
export function isSnapshotEpoch(epoch: number, every: number): boolean {
  return epoch >= every && epoch % every === 0;
}

/** MAE-K reconstructs features from epoch K on (pixels before the first copy). */
export function snapshotUsesFeatures(epoch: number, every: number): boolean {
  return epoch >= every;
}

/** Copies MAE-K has made once the start-of-epoch hook of `epoch` has run. */
export function snapshotCopiesBy(epoch: number, every: number): number {
  return Math.floor(epoch / every);
}

/** EMA-MAE reconstructs features once the WSE warm-up epochs are over. */
export function emaUsesFeatures(epoch: number, warmupEpochs: number): boolean {
  return epoch >= warmupEpochs;
}

/**
 * True when the EMA target must be created (copied from the online encoder) before `epoch`: the
 * end of warm-up, i.e. the start of epoch WSE (the same moment as the end of epoch WSE - 1, and
 * well defined for WSE = 0).
 */
export function isEmaCopyEpoch(epoch: number, warmupEpochs: number): boolean {
  return epoch === warmupEpochs;
}

/** True when an epoch-wise EMA updates the target after `epoch` (every epoch that used it). */
export function isEmaUpdateEpoch(epoch: number, warmupEpochs: number): boolean {
  return epoch >= warmupEpochs;
}

/** One EMA step on a number: (1 - tau) * target + tau * online. */
export function emaStep(target: number, online: number, tau: number): number {
  return (1 - tau) * target + tau * online;
}
