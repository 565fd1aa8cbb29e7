/**
 * A weighted sum of targets, one prediction head each on the shared decoder: MAE-new
 * (Bootstrap-MAE report, section 6) is L = L_fast + lambda * L_slow with the EMA target as fast,
 * MAE-5 as slow and lambda = 0.2. While several components are in their pixel phase they regress
 * the same patches with the same 'pixels' head, so their terms merge into one (weights summed):
 * the loss is the same and the pixels are computed once.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WeightedSumTargetConfig } from './config';
import type { Target, TargetState, TargetTerm } from './target';

export function createWeightedSumTarget(config: WeightedSumTargetConfig, components: Target[]): Target {
  if (components.length !== config.terms.length) throw new Error('createWeightedSumTarget: one component per term');
  const weights = config.terms.map((term) => term.weight);

  const heads = new Map<string, number>();
  for (const component of components) {
    for (const [head, dim] of component.heads) {
      const known = heads.get(head);
      if (known !== undefined && known !== dim) throw new Error(`head "${head}" is used with ${known} and ${dim} outputs`);
      heads.set(head, dim);
    }
  }

  const target: Target = {
    kind: 'sum',
    name: 'sum',
    heads,
    compute(images, context) {
      const merged = new Map<string, TargetTerm>();
      components.forEach((component, i) => {
        for (const term of component.compute(images, context)) {
          const weight = weights[i] * term.weight;
          const previous = merged.get(term.head);
          if (previous) {
            previous.weight += weight;
            term.value.dispose(); // identical to previous.value (same head, same normPix by config)
          } else {
            merged.set(term.head, { head: term.head, weight, value: term.value });
          }
        }
      });
      return [...merged.values()];
    },
    onEpochStart: (epoch) => components.forEach((c) => c.onEpochStart(epoch)),
    onStepEnd: (context) => components.forEach((c) => c.onStepEnd(context)),
    onEpochEnd: (epoch) => components.forEach((c) => c.onEpochEnd(epoch)),
    state(): TargetState {
      const states = components.map((c) => c.state());
      return {
        kind: 'sum',
        name: 'sum',
        epoch: states[0].epoch,
        mode: states.some((s) => s.mode === 'features') ? 'features' : 'pixels',
        updates: states.reduce((total, s) => total + s.updates, 0),
        tau: null,
        components: states.map((state, i) => ({ weight: weights[i], state })),
      };
    },
    weights: () => new Map(components.flatMap((c) => [...c.weights()])),
    restore(state, saved) {
      if (state.kind !== 'sum' || state.components?.length !== components.length) {
        throw new Error(`cannot restore a sum of ${components.length} targets from the state of ${state.kind} "${state.name}"`);
      }
      components.forEach((c, i) => c.restore(state.components![i].state, saved));
    },
    dispose: () => components.forEach((c) => c.dispose()),
  };
  return target;
}

/** Sums weight * loss over terms. @param losses one scalar per term, same order */
export function weightedLoss(terms: readonly TargetTerm[], losses: readonly tf.Scalar[]): tf.Scalar {
  return tf.tidy(() => tf.addN(terms.map((term, i) => tf.mul(losses[i], term.weight))) as tf.Scalar);
}
