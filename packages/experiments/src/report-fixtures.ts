/**
 * Test fixtures for the summary, report and figure tests: summaries built in memory, and runs
 * folders written by hand as the stage runner would leave them. (Named report-* so that, like the
 * report code, it is not among the stage targets' inputs: see package.json nx.namedInputs.)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR10_CLASS_NAMES } from '@bmae/data';
import { classificationMetrics, EVAL_RECORD_SCHEMA, writeEvalRecord, type EvalRecord } from '@bmae/eval';
import { meanStd } from '@bmae/eval/statistics';
import type { LoggedTargetState } from './report-targets';
import type { EvalStage } from './stage-config';
import type { ProtocolResult, Summary } from './summary';

const result = (values: number[] | undefined): ProtocolResult | null => (values ? { ...meanStd(values), values } : null);

/** A summary whose protocols have these per-seed top-1 values (%); a protocol left out did not run. */
export function fakeSummary(experiment: string, values: Partial<Record<EvalStage, number[]>>, extra: Partial<Summary> = {}): Summary {
  return {
    schema: 'bmae.summary.v1', experiment, profile: 'smoke', description: '', sweeps: {}, paper: {},
    seeds: Math.max(...Object.values(values).map((v) => v.length), 1),
    results: { linprobe: result(values.linprobe), finetune: result(values.finetune), knn: result(values.knn) },
    stages: {}, lossCurve: [{ epoch: 0.5, loss: 1 }, { epoch: 1, loss: 0.5 }], knnCurves: [], pretrainedFrom: experiment, createdAt: '', ...extra,
  };
}

/** An eval record whose top-1 is `correct` % (100 test images). */
export function evalRecord(protocol: EvalRecord['protocol'], seed: number, correct: number): EvalRecord {
  const labels = Array.from({ length: 100 }, (_, i) => i % 10);
  const predicted = labels.map((l, i) => (i < correct ? l : (l + 1) % 10));
  return {
    schema: EVAL_RECORD_SCHEMA, protocol, encoder: { checkpoint: null, preset: 'micro' },
    data: { source: 'synthetic', fingerprint: 'f', trainCount: 20, testCount: 100 },
    metrics: classificationMetrics(predicted, labels, CIFAR10_CLASS_NAMES), history: [], settings: {}, backend: 'cpu', seed, seconds: 1, createdAt: '',
  };
}

const json = (value: unknown) => `${JSON.stringify(value)}\n`;

/** A training record of metrics.jsonl at `epoch` with this target state. */
export const stepRecord = (step: number, epoch: number, target: LoggedTargetState) => ({ step, epoch, loss: 1 / (step + 1), target });

/**
 * runs/<profile>/<name>/ as the stage runner leaves it: for each evaluation stage an eval record
 * per seed (top1[stage][s] % correct) and a stage.json saying how many seeds ran; a pretrain
 * folder with stage.json and, per seed, the metrics.jsonl lines given. @returns the summary folder
 */
export function writeFakeRuns(
  root: string,
  profile: string,
  name: string,
  top1: Record<EvalStage, number[]>,
  metrics: Array<Array<Record<string, unknown>>> = [],
): string {
  for (const stage of Object.keys(top1) as EvalStage[]) {
    const dir = join(root, profile, name, stage);
    mkdirSync(dir, { recursive: true });
    top1[stage].forEach((correct, seed) => writeEvalRecord(join(dir, `seed-${seed}.json`), evalRecord(stage, seed, correct)));
    writeFileSync(join(dir, 'stage.json'), json({ seeds: top1[stage].length, backend: 'cpu', seconds: 12.3, imagesPerSecond: 456.7, status: 'done' }));
  }
  const pretrain = join(root, profile, name, 'pretrain');
  mkdirSync(pretrain, { recursive: true });
  writeFileSync(join(pretrain, 'stage.json'), json({ seeds: metrics.length, backend: 'cpu', seconds: 100, imagesPerSecond: 50, status: 'done' }));
  metrics.forEach((records, seed) => {
    mkdirSync(join(pretrain, `seed-${seed}`), { recursive: true });
    writeFileSync(join(pretrain, `seed-${seed}`, 'metrics.jsonl'), records.map(json).join(''));
  });
  const out = join(root, profile, name, 'summary');
  mkdirSync(out, { recursive: true });
  return out;
}
