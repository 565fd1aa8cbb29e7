/**
 * What each experiment's reconstruction target did during pre-training, read back from the
 * target state every training record of metrics.jsonl carries: what it regressed at the end, and
 * the epoch it started to bootstrap (regress a target encoder's features instead of pixels). A
 * bootstrap target that never did, such as MAE-K with K >= the run's epochs or EMA-MAE with a
 * warm-up as long as the run, trained pixel MAE under another name: the report leaves it out.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isStepRecord, readMetrics } from '@bmae/trainers';
import type { Summary } from './summary';

/** A target's state as metrics.jsonl records it (@bmae/targets TargetState). */
export interface LoggedTargetState {
  kind: string;
  name: string;
  /** the epoch the target was last told about */
  epoch: number;
  mode: string;
  updates: number;
  components?: Array<{ weight: number; state: LoggedTargetState }>;
}

/** One pre-training's target, from seed 0's metrics (every seed runs the same schedule). */
export interface TargetHistory {
  /** describeTargetState at the last training record, e.g. "ema: features, 11 updates" */
  final: string;
  /** true when some part of the target is a target encoder (not plain pixels) */
  bootstrapKind: boolean;
  /** the epoch at whose start some part first regressed features; null when none ever did */
  bootstrapEpoch: number | null;
  /** pre-training epochs run (the last training record's epoch) */
  epochs: number;
}

/**
 * One line on what a target regressed at the end of pre-training: "pixels", "ema: features, 6
 * updates", or a sum's terms joined by "; ". Shows at a glance when a schedule never bootstrapped
 * within a short run (MAE-K with K >= epochs: "snapshot: pixels, 0 updates").
 */
export function describeTargetState(state: LoggedTargetState): string {
  if (state.components) return state.components.map((c) => describeTargetState(c.state)).join('; ');
  if (state.kind === 'pixels') return 'pixels';
  return `${state.name}: ${state.mode}, ${state.updates} update${state.updates === 1 ? '' : 's'}`;
}

/** The parts of a target that regress something of their own: itself, or a sum's components. */
function leaves(state: LoggedTargetState): LoggedTargetState[] {
  return state.components ? state.components.flatMap((c) => leaves(c.state)) : [state];
}

/** A target history from the target states of one run's training records, in order. */
export function targetHistory(states: readonly LoggedTargetState[], epochs: number): TargetHistory {
  if (states.length === 0) throw new Error('targetHistory: no target states');
  let bootstrapEpoch: number | null = null;
  for (const state of states) {
    const switched = leaves(state).filter((leaf) => leaf.mode === 'features');
    if (switched.length === 0) continue;
    bootstrapEpoch = Math.min(...switched.map((leaf) => leaf.epoch));
    break;
  }
  const final = states[states.length - 1];
  return { final: describeTargetState(final), bootstrapKind: leaves(final).some((leaf) => leaf.kind !== 'pixels'), bootstrapEpoch, epochs };
}

/** A bootstrap target that regressed pixels for the whole run: its experiment is pixel MAE. */
export function neverBootstrapped(history: TargetHistory | undefined): boolean {
  return history !== undefined && history.bootstrapKind && history.bootstrapEpoch === null;
}

/** The target history of every experiment with a pre-training whose seed-0 metrics.jsonl exists. */
export function readTargetHistories(profileDir: string, summaries: readonly Summary[]): Record<string, TargetHistory> {
  const out: Record<string, TargetHistory> = {};
  for (const s of summaries) {
    if (s.pretrainedFrom === null) continue;
    const file = join(profileDir, s.pretrainedFrom, 'pretrain', 'seed-0', 'metrics.jsonl');
    if (!existsSync(file)) continue;
    // Training records only: monitor records (kNN curve) carry no target state.
    const records = readMetrics(file).filter(isStepRecord) as Array<{ epoch?: unknown; target?: LoggedTargetState }>;
    const states = records.flatMap((r) => (r.target ? [r.target] : []));
    if (states.length === 0) continue;
    out[s.experiment] = targetHistory(states, Math.round(Number(records[records.length - 1].epoch)));
  }
  return out;
}
