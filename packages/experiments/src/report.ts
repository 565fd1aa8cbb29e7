/**
 * The report of a profile: every finished experiment (runs/<profile>/<name>/summary/summary.json)
 * gathered into runs/<profile>/report.json, compared as notes/method.md ("Reporting a comparison")
 * asks: each method's top-1 as mean ± std over seeds, and its paired difference against pixel MAE
 * over the seeds both ran, with the 95% t-interval (@bmae/eval/statistics); each sweep point the
 * same; each ablation against the experiment it changes. An experiment whose bootstrap target
 * never left pixels (report-targets.ts) is pixel MAE under another name: it is left out of every
 * table and named in a note. report-markdown.ts renders it as text, figures.ts as figures.
 */
import { cpus, platform, release } from 'node:os';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pairedDifference, type PairedDifference } from '@bmae/eval/statistics';
import { loadProfile, profileNames, SWEEP_PARAMS, type SweepParam } from './experiment';
import { neverBootstrapped, type TargetHistory } from './report-targets';
import { EVAL_STAGES, type EvalStage } from './stage-config';
import type { ProtocolResult, Summary } from './summary';

/** The method every other is paired with: pixel MAE, the report's baseline. */
export const BASELINE = 'mae';
/** Confidence level of every interval (notes/method.md). */
export const CONFIDENCE_LEVEL = 0.95;

/** An experiment paired seed by seed with `against`, per protocol (null: one of the two lacks it). */
export interface Comparison {
  against: string;
  differences: Record<EvalStage, PairedDifference | null>;
}

/** A table row: an experiment and its comparison with the table's base (null: it is the base, or the base has no summary). */
export interface Row {
  experiment: string;
  comparison: Comparison | null;
}

export interface SweepPoint extends Row {
  value: number;
  linprobe: ProtocolResult | null;
  finetune: ProtocolResult | null;
  knn: ProtocolResult | null;
}

export interface AblationRow extends Row {
  /** what the ablation changes (experiment key ablation.varies); empty for the base row */
  varies: string;
}

export interface Report {
  schema: 'bmae.report.v2';
  profile: string;
  profileDescription: string;
  createdAt: string;
  machine: { cpu: string; cores: number; platform: string };
  /** confidence level of every interval */
  confidenceLevel: number;
  /** every summary read, with each protocol's per-seed values, mean, std and n */
  experiments: Summary[];
  /** experiment -> what its target did during pre-training (report-targets.ts) */
  targets: Record<string, TargetHistory>;
  /** BASELINE when its summary exists, else null (then the main table and sweeps have no differences) */
  baseline: string | null;
  /** the main table: every experiment that is neither an ablation nor excluded, paired with the baseline */
  table: Row[];
  /** experiments left out of every table and figure, and why */
  excluded: Array<{ experiment: string; reason: string }>;
  sweeps: Partial<Record<SweepParam, SweepPoint[]>>;
  /** base experiment -> the base itself, then its ablations paired with it */
  ablations: Record<string, AblationRow[]>;
  figures: string[];
}

/** Every summary.json under runs/<profile>/, sorted by experiment name. */
export function readSummaries(profileDir: string): Summary[] {
  if (!existsSync(profileDir)) return [];
  return readdirSync(profileDir)
    .sort()
    .map((name) => join(profileDir, name, 'summary', 'summary.json'))
    .filter((file) => existsSync(file))
    .map((file) => {
      try {
        // Summaries written before the kNN learning curve existed have none.
        return { knnCurves: [], ...JSON.parse(readFileSync(file, 'utf8')) } as Summary;
      } catch (error) {
        throw new Error(`${file} is not valid JSON: ${(error as Error).message} (re-run its summary stage)`);
      }
    });
}

/** `summary` paired with `base` over their common seeds; null without a base or against itself. */
export function compare(summary: Summary, base: Summary | undefined): Comparison | null {
  if (!base || base.experiment === summary.experiment) return null;
  const differences = {} as Comparison['differences'];
  for (const stage of EVAL_STAGES) {
    const a = summary.results[stage];
    const b = base.results[stage];
    differences[stage] = a && b ? pairedDifference(a.values, b.values, CONFIDENCE_LEVEL) : null;
  }
  return { against: base.experiment, differences };
}

/** The summaries a sweep over `param` has, sorted by value, each paired with `base`. */
export function sweepPoints(summaries: readonly Summary[], param: SweepParam, base?: Summary): SweepPoint[] {
  return summaries
    .filter((s) => s.sweeps[param] !== undefined)
    .map((s) => ({ value: s.sweeps[param]!, experiment: s.experiment, ...s.results, comparison: compare(s, base) }))
    .sort((a, b) => a.value - b.value);
}

/** Pre-training epochs of a profile's file, when it sets them. */
function profileEpochs(name: string): number | undefined {
  const epochs = (loadProfile(name).pretrain.optim as { epochs?: unknown } | undefined)?.epochs;
  return typeof epochs === 'number' ? epochs : undefined;
}

/** Why an experiment whose target never bootstrapped is left out, naming the profiles that train longer (where it may). */
function exclusionReason(history: TargetHistory, profile: string): string {
  const longer = profileNames()
    .map((name) => ({ name, epochs: profileEpochs(name) ?? 0 }))
    .filter((p) => p.name !== profile && p.epochs > history.epochs)
    .sort((a, b) => a.epochs - b.epochs);
  const see = longer.length > 0 ? `; profiles that train longer: ${longer.map((p) => `${p.name} (${p.epochs} epochs)`).join(', ')}` : '';
  return `its target never bootstrapped within this profile's ${history.epochs} epochs (${history.final}), so it is ${BASELINE} under another name${see}`;
}

export function buildReport(profile: string, summaries: Summary[], targets: Record<string, TargetHistory> = {}, figures: string[] = []): Report {
  const excluded = summaries
    .filter((s) => s.experiment !== BASELINE && neverBootstrapped(targets[s.experiment]))
    .map((s) => ({ experiment: s.experiment, reason: exclusionReason(targets[s.experiment], profile) }));
  const shown = summaries.filter((s) => !excluded.some((e) => e.experiment === s.experiment));
  const byName = new Map(shown.map((s) => [s.experiment, s]));
  const baseline = byName.get(BASELINE);

  const table = shown.filter((s) => !s.ablation).map((s) => ({ experiment: s.experiment, comparison: compare(s, baseline) }));
  const sweeps: Report['sweeps'] = {};
  for (const param of SWEEP_PARAMS) {
    const points = sweepPoints(shown, param, baseline);
    if (points.length > 0) sweeps[param] = points;
  }
  const ablations: Report['ablations'] = {};
  for (const s of shown) {
    if (!s.ablation) continue;
    const base = byName.get(s.ablation.of);
    const rows = (ablations[s.ablation.of] ??= base ? [{ experiment: base.experiment, varies: '', comparison: null }] : []);
    rows.push({ experiment: s.experiment, varies: s.ablation.varies, comparison: compare(s, base) });
  }
  const cpu = cpus();
  return {
    schema: 'bmae.report.v2',
    profile,
    profileDescription: loadProfile(profile).description,
    createdAt: new Date().toISOString(),
    machine: { cpu: cpu[0]?.model ?? 'unknown', cores: cpu.length, platform: `${platform()} ${release()}` },
    confidenceLevel: CONFIDENCE_LEVEL,
    experiments: summaries,
    targets,
    baseline: baseline ? BASELINE : null,
    table,
    excluded,
    sweeps,
    ablations,
    figures,
  };
}

/** The summaries the tables and figures show: all but the excluded ones. */
export function shownSummaries(report: Report): Summary[] {
  return report.experiments.filter((s) => !report.excluded.some((e) => e.experiment === s.experiment));
}
