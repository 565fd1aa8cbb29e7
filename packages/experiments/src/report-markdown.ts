/**
 * A Report (report.ts) as text: report.md (the main table with mean ± std per protocol, the paired
 * difference against pixel MAE with its 95% interval and the report's own numbers; the experiments
 * left out and why; one table per sweep; the ablations against their bases; stage times; figures)
 * and the one-line results `bmae report` prints.
 */
import type { PairedDifference } from '@bmae/eval/statistics';
import { BASELINE, compare, type Report, type Row } from './report';
import { EVAL_STAGES, type EvalStage } from './stage-config';
import type { ProtocolResult, Summary } from './summary';

export const PROTOCOL_TITLES: Record<EvalStage, string> = { linprobe: 'linear probe', finetune: 'fine-tune', knn: 'kNN' };

/** "52.35 ± 0.41 (n=3)", "52.35 (n=1)", "—" when the protocol did not run. */
export function formatResult(result: ProtocolResult | null): string {
  if (!result) return '—';
  return result.n > 1 ? `${result.mean.toFixed(2)} ± ${result.std.toFixed(2)} (n=${result.n})` : `${result.mean.toFixed(2)} (n=1)`;
}

/** "+1.23", "−0.40" (a real minus sign), "0.00". */
export function formatSigned(value: number): string {
  const text = Math.abs(value).toFixed(2);
  if (Number(text) === 0) return text;
  return `${value > 0 ? '+' : '−'}${text}`;
}

/**
 * A paired difference as "+1.23 [−0.40, +2.86]"; when the interval excludes 0, marked "▲" (above)
 * or "▼" (below), in bold for markdown; "+1.23 (1 seed: no interval)" with one common seed;
 * "(no spread)" after an interval of width 0.
 */
export function formatDifference(difference: PairedDifference | null, { markdown = true } = {}): string {
  if (!difference) return '—';
  const { mean, interval } = difference;
  if (!interval) return `${formatSigned(mean)} (1 seed: no interval)`;
  // Equal differences on every seed (identical runs, or a test set too small to tell seeds apart) give
  // an interval of width 0 (at the precision shown): say so, as it "excludes 0" on no evidence of spread.
  const [low, high] = [formatSigned(interval.low), formatSigned(interval.high)];
  const text = `${formatSigned(mean)} [${low}, ${high}]${low === high ? ' (no spread)' : ''}`;
  if (!interval.excludesZero) return text;
  const marked = `${interval.low > 0 ? '▲' : '▼'} ${text}`;
  return markdown ? `**${marked}**` : marked;
}

const formatPaper = (value: number | undefined) => (value === undefined ? '' : value.toFixed(2));

function formatStage(summary: Summary, stage: 'pretrain' | EvalStage): string {
  const timing = summary.stages[stage];
  if (!timing) return '';
  if (timing.status !== 'done') return 'not run';
  const rate = timing.imagesPerSecond === null ? '' : `, ${Math.round(timing.imagesPerSecond)} img/s`;
  return `${timing.seconds.toFixed(0)} s${rate}`;
}

/** The difference cell of a row: `baseLabel` on the table's base row, "—" when there is nothing to pair with. */
function differenceCell(row: Row, stage: EvalStage, base: string | null, baseLabel: string): string {
  if (row.experiment === base) return baseLabel;
  return row.comparison ? formatDifference(row.comparison.differences[stage]) : '—';
}

function legend(base: string): string {
  return (
    `Top-1 % as mean ± sample std over seeds (n seeds). Δ vs ${base}: the paired difference, seed s minus ${base}'s seed s over the seeds both ran, ` +
    'as mean [95% t-interval]; marked **▲**/**▼** only when the interval excludes 0, the only case in which one method beats the other (notes/method.md). ' +
    'One common seed is a measurement: it gets no interval.'
  );
}

export function renderMarkdown(report: Report): string {
  const lines: string[] = [];
  const byName = new Map(report.experiments.map((s) => [s.experiment, s]));
  const summary = (name: string) => byName.get(name)!;
  const backends = [...new Set(report.experiments.flatMap((s) => Object.values(s.stages).map((t) => t?.backend)).filter((b) => b && b !== 'none'))];
  lines.push(`# bmae report: profile \`${report.profile}\``, '');
  lines.push(`${report.profileDescription}`, '');
  lines.push(`Generated ${report.createdAt} on ${report.machine.cpu} (${report.machine.cores} cores, ${report.machine.platform}); backend ${backends.join(', ') || 'n/a'}.`, '');
  if (report.experiments.length === 0) {
    lines.push(`No finished experiment yet: run \`npx nx run experiments:<name>:${report.profile}\`.`, '');
    return `${lines.join('\n')}\n`;
  }
  const base = report.baseline;
  const delta = `Δ vs ${base}`;

  lines.push('## Top-1 accuracy (%) on CIFAR-10 test', '');
  lines.push('Ours beside the report\'s own numbers (DeiT-Tiny, 200 + 100 epochs): only the `paper` profile is comparable.', '');
  if (base) lines.push(legend(base), '');
  else lines.push(`No \`mae\` summary yet: no paired differences (run \`npx nx run experiments:mae:${report.profile}\`).`, '');
  const protocolColumns = (stage: EvalStage, paper: boolean) => [PROTOCOL_TITLES[stage], ...(base ? [delta] : []), ...(paper ? ['report'] : [])];
  const header = ['experiment', ...protocolColumns('linprobe', true), ...protocolColumns('finetune', true), ...protocolColumns('knn', false), 'target at the end of pre-training'];
  lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
  for (const row of report.table) {
    const s = summary(row.experiment);
    const cells = (stage: EvalStage) => [formatResult(s.results[stage]), ...(base ? [differenceCell(row, stage, base, 'baseline')] : [])];
    const target = s.pretrainedFrom === null ? 'no pre-training' : (report.targets[s.experiment]?.final ?? '');
    lines.push(`| ${[s.experiment, ...cells('linprobe'), formatPaper(s.paper.linprobe), ...cells('finetune'), formatPaper(s.paper.finetune), ...cells('knn'), target].join(' | ')} |`);
  }
  lines.push('');
  if (report.excluded.length > 0) {
    lines.push('Left out of the tables and figures:', '', ...report.excluded.map((e) => `- ${e.experiment}: ${e.reason}.`), '');
  }

  /** Table lines: `first` cells, then each protocol's result and (with a base) its difference. */
  const protocolRows = <R extends Row>(rows: readonly R[], baseName: string | null, baseLabel: string, first: (row: R) => string[]) =>
    rows.map((row) => {
      const s = summary(row.experiment);
      const cells = EVAL_STAGES.flatMap((stage) => [formatResult(s.results[stage]), ...(baseName ? [differenceCell(row, stage, baseName, baseLabel)] : [])]);
      return `| ${[...first(row), ...cells].join(' | ')} |`;
    });
  const protocolHeader = (deltaTitle: string | null) => EVAL_STAGES.flatMap((stage) => [PROTOCOL_TITLES[stage], ...(deltaTitle ? [deltaTitle] : [])]);

  for (const [param, points] of Object.entries(report.sweeps)) {
    const columns = [param, 'experiment', ...protocolHeader(base ? delta : null)];
    lines.push(`## Sweep over ${param}`, '');
    lines.push(`| ${columns.join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`);
    lines.push(...protocolRows(points!, base, 'baseline', (p) => [String(p.value), p.experiment]), '');
  }

  const ablationBases = Object.keys(report.ablations);
  if (ablationBases.length > 0) {
    lines.push('## Ablations', '');
    lines.push('Each ablation paired seed by seed with the experiment it changes (Δ: ablation minus base, mean [95% t-interval]).', '');
    for (const of of ablationBases) {
      const rows = report.ablations[of];
      const hasBase = byName.has(of) && rows.some((r) => r.experiment === of);
      lines.push(`### Ablations of \`${of}\``, '');
      if (!hasBase) lines.push(`No summary of \`${of}\` yet: no paired differences.`, '');
      const columns = ['experiment', 'varies', ...protocolHeader(hasBase ? `Δ vs ${of}` : null)];
      lines.push(`| ${columns.join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`);
      lines.push(...protocolRows(rows, hasBase ? of : null, 'base', (r) => [r.experiment, r.varies]), '');
    }
  }

  lines.push('## Stages: wall time and throughput', '');
  lines.push('| experiment | pretrain | linprobe | finetune | kNN |', '|---|---|---|---|---|');
  for (const s of report.experiments) {
    const pretrain = s.pretrainedFrom && s.pretrainedFrom !== s.experiment ? `shared with ${s.pretrainedFrom}` : formatStage(s, 'pretrain');
    const seeds = (stage: EvalStage) => {
      const n = s.stages[stage]?.seeds;
      return n !== undefined && n !== s.seeds ? ` (${n} of ${s.seeds} seeds)` : '';
    };
    lines.push(`| ${s.experiment} | ${pretrain} | ${EVAL_STAGES.map((stage) => formatStage(s, stage) + seeds(stage)).join(' | ')} |`);
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

/**
 * One line on an experiment of the report: its results, then its paired differences against mae
 * and, for an ablation, against its base (when those summaries exist), and why the report leaves
 * it out if it does.
 */
export function resultLine(report: Report, experiment: string): string {
  const byName = new Map(report.experiments.map((s) => [s.experiment, s]));
  const s = byName.get(experiment);
  if (!s) throw new Error(`resultLine: the report has no experiment ${experiment}`);
  const results = EVAL_STAGES.map((stage) => `${PROTOCOL_TITLES[stage]} ${formatResult(s.results[stage])}`).join('  ');
  const bases = [...new Set([BASELINE, ...(s.ablation ? [s.ablation.of] : [])])];
  const differences = bases.flatMap((name) => {
    const comparison = compare(s, byName.get(name));
    if (!comparison) return [];
    return [`vs ${name}: ${EVAL_STAGES.map((stage) => `${PROTOCOL_TITLES[stage]} ${formatDifference(comparison.differences[stage], { markdown: false })}`).join(', ')}`];
  });
  const excluded = report.excluded.find((e) => e.experiment === experiment);
  return [`${experiment}: ${results}  (top-1 %)`, ...differences, ...(excluded ? [`left out of the report: ${excluded.reason}`] : [])].join('; ');
}
