/**
 * The summary stage: one experiment's evaluations combined into summary.json (top-1 in %, mean and
 * sample std over seeds, and each seed's value for paired comparisons), with the pre-training loss
 * curve (metrics.jsonl of seed 0: five points per epoch), the kNN learning curve of every seed (when
 * the profile has one) and each stage's backend, wall time and images/s. The report reads only
 * these files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEvalRecord } from '@bmae/eval';
import { meanStd, type MeanStd } from '@bmae/eval/statistics';
import { isMonitorRecord, isStepRecord, readMetrics } from '@bmae/trainers';
import writeFileAtomic from 'write-file-atomic';
import type { Experiment } from './experiment';
import { EVAL_STAGES, type EvalStage } from './stage-config';

/** Top-1 (%) of one protocol over seeds; null when the stage did not run. */
export interface ProtocolResult extends MeanStd {
  /** values[s] is seed s's top-1 (seeds 0..n-1) */
  values: number[];
}

/** kNN top-1 (%) of the online encoder during pre-training, after `epoch` whole epochs (0: at init). */
export interface KnnCurvePoint {
  epoch: number;
  top1: number;
}

export interface StageTiming {
  /** seeds the stage ran (0..seeds-1) */
  seeds?: number;
  backend: string;
  seconds: number;
  imagesPerSecond: number | null;
  status: string;
  reason?: string;
}

export interface Summary {
  schema: 'bmae.summary.v1';
  experiment: string;
  profile: string;
  description: string;
  sweeps: Partial<Record<string, number>>;
  paper: { finetune?: number; linprobe?: number };
  /** set when the experiment is an ablation of another (absent in summaries written before the key existed) */
  ablation?: { of: string; varies: string };
  seeds: number;
  results: Record<EvalStage, ProtocolResult | null>;
  stages: Partial<Record<'pretrain' | EvalStage, StageTiming>>;
  /** pre-training loss of seed 0, five points per epoch; empty without pre-training */
  lossCurve: Array<{ epoch: number; loss: number }>;
  /** knnCurves[s]: seed s's kNN learning curve; empty without pre-training or without a profile knnCurve */
  knnCurves: KnnCurvePoint[][];
  /** the experiment whose pre-training stage this one used (itself unless shared) */
  pretrainedFrom: string | null;
  createdAt: string;
}

function readStage(dir: string): StageTiming | null {
  const file = join(dir, 'stage.json');
  if (!existsSync(file)) return null;
  const record = JSON.parse(readFileSync(file, 'utf8')) as StageTiming;
  return { seeds: record.seeds, backend: record.backend, seconds: record.seconds, imagesPerSecond: record.imagesPerSecond, status: record.status, ...(record.reason ? { reason: record.reason } : {}) };
}

/** Writes <out>/summary.json from runs/<profile>/<name>/{linprobe,finetune,knn}/ and the pre-training it used. */
export function writeSummary(args: { root: string; profile: string; name: string; experiment: Experiment; seeds: number; out: string; pretrainedFrom?: string | null }): Summary {
  const { root, profile, name, experiment, seeds, out } = args;
  const base = join(root, profile, name);
  const results = {} as Summary['results'];
  const stages: Summary['stages'] = {};
  for (const stage of EVAL_STAGES) {
    const dir = join(base, stage);
    const timing = readStage(dir);
    if (!timing) throw new Error(`cannot summarise ${name}: ${join(dir, 'stage.json')} is missing (run the ${stage} stage first)`);
    stages[stage] = timing;
    if (timing.status !== 'done') {
      results[stage] = null;
      continue;
    }
    const values = Array.from({ length: timing.seeds ?? seeds }, (_, seed) => readEvalRecord(join(dir, `seed-${seed}.json`)).metrics.top1 * 100);
    results[stage] = { ...meanStd(values), values };
  }
  const pretrainedFrom = experiment.pretrain === null ? null : (args.pretrainedFrom ?? name);
  let lossCurve: Summary['lossCurve'] = [];
  const knnCurves: Summary['knnCurves'] = [];
  if (pretrainedFrom !== null) {
    const pretrainDir = join(root, profile, pretrainedFrom, 'pretrain');
    const timing = readStage(pretrainDir);
    if (timing) stages.pretrain = timing;
    for (let seed = 0; seed < seeds; seed++) {
      const records = readMetrics(join(pretrainDir, `seed-${seed}`, 'metrics.jsonl'));
      if (seed === 0) lossCurve = records.filter(isStepRecord).map((r) => ({ epoch: Number(r.epoch), loss: Number(r.loss) }));
      const curve = records.filter(isMonitorRecord).filter((r) => r.monitor.knnTop1 !== undefined).map((r) => ({ epoch: r.epoch, top1: r.monitor.knnTop1 * 100 }));
      if (curve.length > 0) knnCurves.push(curve);
    }
  }
  const summary: Summary = {
    schema: 'bmae.summary.v1',
    experiment: name,
    profile,
    description: experiment.description,
    sweeps: experiment.sweeps ?? {},
    paper: experiment.paper ?? {},
    ...(experiment.ablation ? { ablation: experiment.ablation } : {}),
    seeds,
    results,
    stages,
    lossCurve,
    knnCurves,
    pretrainedFrom,
    createdAt: new Date().toISOString(),
  };
  writeFileAtomic.sync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}
