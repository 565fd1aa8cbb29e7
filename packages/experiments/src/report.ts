/**
 * The report of a profile: every finished experiment (runs/<profile>/<name>/summary/summary.json)
 * as runs/<profile>/report.json and report.md: fine-tune / linear-probe / kNN top-1 per experiment
 * and per sweep beside the report's own numbers (notes/method.md), backend, wall time and images/s
 * of each stage, and the figures (figures.ts).
 */
import { cpus, platform, release } from 'node:os';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isStepRecord, readMetrics } from '@bmae/trainers';
import writeFileAtomic from 'write-file-atomic';
import { loadProfile, SWEEP_PARAMS, type SweepParam } from './experiment';
import { EVAL_STAGES } from './stage-config';
import type { ProtocolResult, Summary } from './summary';

export interface SweepPoint {
  value: number;
  experiment: string;
  linprobe: ProtocolResult | null;
  finetune: ProtocolResult | null;
  knn: ProtocolResult | null;
}

export interface Report {
  schema: 'bmae.report.v1';
  profile: string;
  profileDescription: string;
  createdAt: string;
  machine: { cpu: string; cores: number; platform: string };
  experiments: Summary[];
  /** experiment -> what its target regressed at the end of pre-training (see describeTargetState) */
  finalTargets: Record<string, string>;
  sweeps: Partial<Record<SweepParam, SweepPoint[]>>;
  figures: string[];
}

/** Every summary.json under runs/<profile>/, sorted by experiment name. */
export function readSummaries(profileDir: string): Summary[] {
  if (!existsSync(profileDir)) return [];
  return readdirSync(profileDir)
    .sort()
    .map((name) => join(profileDir, name, 'summary', 'summary.json'))
    .filter((file) => existsSync(file))
    .map((file) => JSON.parse(readFileSync(file, 'utf8')) as Summary);
}

/** A target's state as metrics.jsonl records it (@bmae/targets TargetState). */
interface LoggedTargetState {
  kind: string;
  name: string;
  mode: string;
  updates: number;
  components?: Array<{ weight: number; state: LoggedTargetState }>;
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

/** describeTargetState of the last metrics record of seed 0's pre-training, per experiment that has one. */
export function readFinalTargets(profileDir: string, summaries: readonly Summary[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of summaries) {
    if (s.pretrainedFrom === null) continue;
    const file = join(profileDir, s.pretrainedFrom, 'pretrain', 'seed-0', 'metrics.jsonl');
    if (!existsSync(file)) continue;
    // The last training record (monitor records carry no target state).
    const last = readMetrics(file).filter(isStepRecord).pop() as { target?: LoggedTargetState } | undefined;
    if (last?.target) out[s.experiment] = describeTargetState(last.target);
  }
  return out;
}

export function sweepPoints(summaries: readonly Summary[], param: SweepParam): SweepPoint[] {
  return summaries
    .filter((s) => s.sweeps[param] !== undefined)
    .map((s) => ({ value: s.sweeps[param]!, experiment: s.experiment, ...s.results }))
    .sort((a, b) => a.value - b.value);
}

export function buildReport(profile: string, summaries: Summary[], figures: string[] = [], finalTargets: Record<string, string> = {}): Report {
  const sweeps: Report['sweeps'] = {};
  for (const param of SWEEP_PARAMS) {
    const points = sweepPoints(summaries, param);
    if (points.length > 0) sweeps[param] = points;
  }
  const cpu = cpus();
  return {
    schema: 'bmae.report.v1',
    profile,
    profileDescription: loadProfile(profile).description,
    createdAt: new Date().toISOString(),
    machine: { cpu: cpu[0]?.model ?? 'unknown', cores: cpu.length, platform: `${platform()} ${release()}` },
    experiments: summaries,
    finalTargets,
    sweeps,
    figures,
  };
}

/** "52.35" or "52.35 ± 0.41" (n seeds), "—" when the protocol did not run. */
export function formatResult(result: ProtocolResult | null): string {
  if (!result) return '—';
  return result.n > 1 ? `${result.mean.toFixed(2)} ± ${result.std.toFixed(2)}` : result.mean.toFixed(2);
}

const formatPaper = (value: number | undefined) => (value === undefined ? '' : value.toFixed(2));

function formatStage(summary: Summary, stage: 'pretrain' | 'linprobe' | 'finetune' | 'knn'): string {
  const timing = summary.stages[stage];
  if (!timing) return '';
  if (timing.status !== 'done') return 'not run';
  const rate = timing.imagesPerSecond === null ? '' : `, ${Math.round(timing.imagesPerSecond)} img/s`;
  return `${timing.seconds.toFixed(0)} s${rate}`;
}

export function renderMarkdown(report: Report): string {
  const lines: string[] = [];
  const backends = [...new Set(report.experiments.flatMap((s) => Object.values(s.stages).map((t) => t?.backend)).filter((b) => b && b !== 'none'))];
  lines.push(`# bmae report: profile \`${report.profile}\``, '');
  lines.push(`${report.profileDescription}`, '');
  lines.push(`Generated ${report.createdAt} on ${report.machine.cpu} (${report.machine.cores} cores, ${report.machine.platform}); backend ${backends.join(', ') || 'n/a'}.`, '');
  if (report.experiments.length === 0) {
    lines.push(`No finished experiment yet: run \`npx nx run experiments:<name>:${report.profile}\`.`, '');
    return `${lines.join('\n')}\n`;
  }
  lines.push('## Top-1 accuracy (%) on CIFAR-10 test', '');
  lines.push('Ours beside the report\'s own numbers (DeiT-Tiny, 200 + 100 epochs): only the `paper` profile is comparable.', '');
  lines.push('| experiment | linear probe | report | fine-tune | report | kNN | seeds | target at the end of pre-training |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const s of report.experiments) {
    const target = s.pretrainedFrom === null ? 'no pre-training' : (report.finalTargets[s.experiment] ?? '');
    lines.push(`| ${s.experiment} | ${formatResult(s.results.linprobe)} | ${formatPaper(s.paper.linprobe)} | ${formatResult(s.results.finetune)} | ${formatPaper(s.paper.finetune)} | ${formatResult(s.results.knn)} | ${s.seeds} | ${target} |`);
  }
  lines.push('');
  for (const [param, points] of Object.entries(report.sweeps)) {
    lines.push(`## Sweep over ${param}`, '');
    lines.push(`| ${param} | experiment | linear probe | fine-tune | kNN |`, '|---|---|---|---|---|');
    for (const p of points!) lines.push(`| ${p.value} | ${p.experiment} | ${formatResult(p.linprobe)} | ${formatResult(p.finetune)} | ${formatResult(p.knn)} |`);
    lines.push('');
  }
  lines.push('## Stages: wall time and throughput', '');
  lines.push('| experiment | pretrain | linprobe | finetune | kNN |', '|---|---|---|---|---|');
  for (const s of report.experiments) {
    const pretrain = s.pretrainedFrom && s.pretrainedFrom !== s.experiment ? `shared with ${s.pretrainedFrom}` : formatStage(s, 'pretrain');
    lines.push(`| ${s.experiment} | ${pretrain} | ${EVAL_STAGES.map((stage) => formatStage(s, stage)).join(' | ')} |`);
  }
  lines.push('');
  const notRun = report.experiments.flatMap((s) => Object.entries(s.stages).filter(([, t]) => t && t.status !== 'done').map(([stage, t]) => `${s.experiment} ${stage}: ${t!.reason ?? t!.status}`));
  if (notRun.length > 0) lines.push('Not run:', '', ...[...new Set(notRun.map((l) => l.replace(/^\S+ /, '')))].map((l) => `- ${l}`), '');
  if (report.figures.length > 0) {
    lines.push('## Figures', '');
    for (const figure of report.figures) lines.push(`![${figure}](${figure})`, '');
  }
  return `${lines.join('\n')}\n`;
}

/** Writes report.json and report.md into the profile's runs folder. @returns the report.md path */
export function writeReport(profileDir: string, report: Report): string {
  writeFileAtomic.sync(join(profileDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const md = join(profileDir, 'report.md');
  writeFileAtomic.sync(md, renderMarkdown(report));
  return md;
}
