/** Restoring a bootstrapped target's encoder from checkpoint tensors, with errors that name what is wrong. */
import type * as tf from '@tensorflow/tfjs-core';
import { TargetEncoder, unprefixed } from './target-encoder';
import type { EncoderAccess, TargetState } from './target';

/**
 * The target encoder saved under `<name>/...` in `weights`, or null when the saved state says none
 * existed yet (no update happened).
 */
export function restoreTargetEncoder(
  name: string,
  state: TargetState,
  weights: ReadonlyMap<string, tf.Tensor>,
  encoder: EncoderAccess,
): TargetEncoder | null {
  const saved = unprefixed(name, weights);
  if (state.updates === 0) {
    if (saved.size > 0) throw new Error(`target "${name}": the checkpoint has target weights but its state says no update happened`);
    return null;
  }
  for (const param of encoder.encoderNames) {
    const value = saved.get(param);
    if (!value) throw new Error(`target "${name}": the checkpoint lacks target weight "${name}/${param}"`);
    const expected = encoder.online.get(param)?.shape;
    if (expected && value.shape.join(',') !== expected.join(',')) {
      throw new Error(`target "${name}": weight "${name}/${param}" has shape [${value.shape}], expected [${expected}]`);
    }
  }
  return TargetEncoder.copyOf(saved, encoder.encoderNames);
}

export function checkStateKind(expected: { kind: string; name: string }, state: TargetState): void {
  if (state.kind !== expected.kind || state.name !== expected.name) {
    throw new Error(`cannot restore target ${expected.kind} "${expected.name}" from the state of ${state.kind} "${state.name}"`);
  }
}
