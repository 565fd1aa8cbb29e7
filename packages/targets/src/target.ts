/**
 * The reconstruction target: "what the decoder regresses". Bootstrap-MAE (Li, Bootstrap-MAE
 * report) changes exactly one line of MAE's forward_loss, `target = self.patchify(imgs)`; this
 * interface is that line opened up. Pixels, MAE-K snapshots, EMA targets and weighted sums of
 * them implement it; the pre-training loop only calls `compute` and the three hooks.
 *
 * Memory contract: `compute` returns new tensors owned by the caller and must be called inside
 * the caller's `tf.tidy`, OUTSIDE the gradient closure (targets never receive gradients). Hooks
 * update target-encoder variables with `assign` inside their own tidy.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** Where training is: the epoch (0-based) and the global optimiser step (0-based). */
export interface TargetContext {
  epoch: number;
  step: number;
}

/** One loss term: the head `head` regresses `value`, and its loss is scaled by `weight`. */
export interface TargetTerm {
  /** prediction head name: 'pixels' is MAE's decoder_pred, any other is decoder_pred_<head> */
  head: string;
  weight: number;
  /** [N, L, K] per-patch regression target, already normalised (norm_pix / feature norm) */
  value: tf.Tensor3D;
}

/** What the decoder regresses right now. */
export type TargetMode = 'pixels' | 'features';

/** A snapshot of a target for logging and checkpoints (plain JSON). */
export interface TargetState {
  kind: string;
  name: string;
  /** the epoch the target was last told about (onEpochStart / restore) */
  epoch: number;
  mode: TargetMode;
  /** how many times the target encoder changed: copies plus EMA updates */
  updates: number;
  /** the EMA coefficient now; null for targets without one */
  tau: number | null;
  /** the components of a weighted sum, with their weights */
  components?: Array<{ weight: number; state: TargetState }>;
}

/**
 * The encoder a bootstrapped target copies and runs. It is injected (not imported) so targets can
 * be tested with a tiny stand-in encoder and stay independent of the model's internals.
 */
export interface EncoderAccess {
  /** the online model's parameters by PyTorch name (encoder names among them) */
  readonly online: ReadonlyMap<string, tf.Variable>;
  /** the names in `online` that make up the encoder: what a target encoder copies */
  readonly encoderNames: readonly string[];
  /** encoder width D: the feature dimension per patch */
  readonly width: number;
  /** P*P*C: the pixel dimension per patch */
  readonly patchDim: number;
  /**
   * Full-image encoder forward in inference mode (no masking, no drop path).
   * @param params a map holding every name in `encoderNames`
   * @param images [N, H, W, C] normalised
   * @returns tokens [N, 1 + L, D], CLS first; after the final LayerNorm unless `beforeNorm`
   */
  encode(params: ReadonlyMap<string, tf.Tensor>, images: tf.Tensor4D, options: { beforeNorm: boolean }): tf.Tensor3D;
  /** [N, H, W, C] -> [N, L, P*P*C] in MAE's patchify order */
  patchify(images: tf.Tensor4D): tf.Tensor3D;
}

export interface Target {
  readonly kind: string;
  readonly name: string;
  /** every prediction head this target ever uses: head name -> output dimension per patch */
  readonly heads: ReadonlyMap<string, number>;
  /**
   * The loss terms for a batch.
   * @param images [N, H, W, C] normalised full images (the same batch the online model masks)
   */
  compute(images: tf.Tensor4D, context: TargetContext): TargetTerm[];
  /** called before the first step of `epoch` (MAE-K copies here) */
  onEpochStart(epoch: number): void;
  /** called after each optimiser step (EMA with per-step updates) */
  onStepEnd(context: TargetContext): void;
  /** called after the last step of `epoch` (EMA updates here) */
  onEpochEnd(epoch: number): void;
  state(): TargetState;
  /** target-encoder weights keyed `<name>/<parameter>`; empty while none exists yet */
  weights(): Map<string, tf.Variable>;
  /** restores what `state()` and `weights()` saved */
  restore(state: TargetState, weights: ReadonlyMap<string, tf.Tensor>): void;
  /** frees the target-encoder variables */
  dispose(): void;
}
