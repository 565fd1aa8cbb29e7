/**
 * The typed registry of targets: one factory per `kind` of the config union. The mapped type makes
 * a kind without a factory (or a factory for the wrong config) a compile error, so adding a target
 * is adding a file, a schema to the union and one line here.
 */
import type { TargetConfig, TargetKind } from './config';
import { createEmaTarget } from './ema';
import { createPixelsTarget } from './pixels';
import { createSnapshotTarget } from './snapshot';
import type { EncoderAccess, Target } from './target';
import { createWeightedSumTarget } from './weighted-sum';

type ConfigOf<K extends TargetKind> = Extract<TargetConfig, { kind: K }>;
type TargetFactory<K extends TargetKind> = (config: ConfigOf<K>, encoder: EncoderAccess) => Target;

export const targetFactories: { [K in TargetKind]: TargetFactory<K> } = {
  pixels: createPixelsTarget,
  snapshot: createSnapshotTarget,
  ema: createEmaTarget,
  sum: (config, encoder) => createWeightedSumTarget(config, config.terms.map((term) => createTarget(term.target, encoder))),
};

/** Builds the target a (parsed) config describes. */
export function createTarget(config: TargetConfig, encoder: EncoderAccess): Target {
  const factory = targetFactories[config.kind] as TargetFactory<TargetKind>;
  return factory(config as ConfigOf<TargetKind>, encoder);
}
