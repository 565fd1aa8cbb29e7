/**
 * The report's figures as PNG, without a canvas: vega-lite spec -> vega (headless view.toSVG) ->
 * sharp (librsvg) -> PNG. Pre-training loss curves of the bootstrap methods on one plot, their kNN
 * learning curves over seeds (and the ablations' on another), one plot per sweep (top-1 against K,
 * tau, WSE), and the pixel MAE's reconstruction grid (figures-reconstruction.ts). Experiments the
 * report leaves out (report.ts: never bootstrapped) are left out here too.
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { SWEEP_PARAMS, type SweepParam } from './experiment';
import { renderReconstructionGrid } from './figures-reconstruction';
import { shownSummaries, sweepPoints, type Report } from './report';
import { PROTOCOL_TITLES } from './report-markdown';
import type { TargetHistory } from './report-targets';
import type { Summary } from './summary';

/** vega and vega-lite are ES modules with top-level await: a real import(), not the require() TypeScript would emit. */
const importEsm = new Function('specifier', 'return import(specifier)') as <T>(specifier: string) => Promise<T>;

type Spec = Record<string, unknown>;

/** The few parts of vega-lite and vega used here (their typings need a newer moduleResolution). */
interface VegaLiteModule {
  compile(spec: Spec): { spec: unknown };
}
interface VegaModule {
  parse(spec: unknown): unknown;
  View: new (runtime: unknown, options: { renderer: 'none' }) => { toSVG(): Promise<string>; finalize(): void };
}

const CONFIG = { font: 'DejaVu Sans', background: 'white', view: { stroke: null } };

/** Experiments on the curve plots: pixel MAE, every MAE-K, EMA-MAE and MAE-new (not the tau / WSE variants, not ablations). */
export const CURVE_EXPERIMENTS = /^(mae|mae-k\d+|mae-ema|mae-new)$/;

const isCurveMethod = (s: Summary) => CURVE_EXPERIMENTS.test(s.experiment) && !s.ablation;

/** Loss against (fractional) epoch, one line per experiment. */
export function lossCurveSpec(summaries: readonly Summary[]): Spec | null {
  const values = summaries
    .filter((s) => isCurveMethod(s) && s.lossCurve.length > 0)
    .flatMap((s) => s.lossCurve.map(({ epoch, loss }) => ({ experiment: s.experiment, epoch, loss })));
  if (values.length === 0) return null;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Pre-training loss (5 points per epoch)',
    width: 560,
    height: 320,
    data: { values },
    mark: { type: 'line', point: { size: 12 } },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'loss', type: 'quantitative', title: 'loss (masked patches)', scale: { zero: false } },
      color: { field: 'experiment', type: 'nominal', title: 'experiment' },
    },
    config: CONFIG,
  };
}

/**
 * kNN top-1 of the online encoder during pre-training against epochs, one colour per experiment:
 * the mean over seeds as a line, the min-max over seeds as a band, and a dashed rule at the epoch
 * its target starts to bootstrap. Null when no experiment has a curve.
 */
export function knnCurveSpec(summaries: readonly Summary[], targets: Readonly<Record<string, TargetHistory>>, title: string): Spec | null {
  const withCurves = summaries.filter((s) => s.knnCurves.length > 0);
  const values = withCurves.flatMap((s) => s.knnCurves.flatMap((curve, seed) => curve.map(({ epoch, top1 }) => ({ experiment: s.experiment, seed, epoch, top1 }))));
  if (values.length === 0) return null;
  const starts = withCurves.flatMap((s) => {
    const epoch = targets[s.experiment]?.bootstrapEpoch;
    return epoch === null || epoch === undefined ? [] : [{ experiment: s.experiment, epoch }];
  });
  const seeds = [...new Set(withCurves.map((s) => s.knnCurves.length))].join(' or ');
  const x = { field: 'epoch', type: 'quantitative', title: 'pre-training epoch', axis: { tickMinStep: 1 } };
  const color = { field: 'experiment', type: 'nominal', title: 'experiment', sort: withCurves.map((s) => s.experiment) };
  // One legend for the layers, drawn as the lines are (the bands' pale swatches would not match them).
  const lineColor = { ...color, legend: { symbolType: 'stroke', symbolStrokeWidth: 3, encode: { symbols: { update: { opacity: { value: 1 } } } } } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: `line: mean over ${seeds} seed${seeds === '1' ? '' : 's'}; band: min-max over seeds; dashed: the target starts to bootstrap` },
    width: 560,
    height: 320,
    layer: [
      {
        data: { values },
        transform: [{ aggregate: [{ op: 'min', field: 'top1', as: 'low' }, { op: 'max', field: 'top1', as: 'high' }], groupby: ['experiment', 'epoch'] }],
        mark: { type: 'area', opacity: 0.15 },
        encoding: { x, y: { field: 'low', type: 'quantitative', title: 'kNN top-1 (%)', scale: { zero: false } }, y2: { field: 'high' }, color },
      },
      {
        data: { values },
        mark: { type: 'line', point: { size: 20 } },
        encoding: { x, y: { aggregate: 'mean', field: 'top1', type: 'quantitative' }, color: lineColor },
      },
      ...(starts.length > 0 ? [{ data: { values: starts }, mark: { type: 'rule', strokeDash: [4, 4], opacity: 0.7 }, encoding: { x, color } }] : []),
    ],
    config: CONFIG,
  };
}

const PARAM_TITLES: Record<SweepParam, string> = { k: 'K (epochs between target snapshots)', tau: 'tau (EMA rate per epoch)', wse: 'WSE (warm-up epochs on pixels)' };

/** Top-1 against the swept value, one line per protocol; null without points. */
export function sweepSpec(summaries: readonly Summary[], param: SweepParam): Spec | null {
  const values = sweepPoints(summaries, param).flatMap((p) =>
    (Object.keys(PROTOCOL_TITLES) as Array<keyof typeof PROTOCOL_TITLES>)
      .filter((protocol) => p[protocol] !== null)
      .map((protocol) => ({ value: p.value, protocol: PROTOCOL_TITLES[protocol], top1: p[protocol]!.mean, experiment: p.experiment })),
  );
  if (values.length === 0) return null;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Sweep over ${param}`,
    width: 420,
    height: 280,
    data: { values },
    mark: { type: 'line', point: { size: 60 } },
    encoding: {
      // Ordinal: the swept values are few and uneven (0.005, 0.1, 0.3), so equal spacing reads best.
      x: { field: 'value', type: 'ordinal', title: PARAM_TITLES[param], sort: 'ascending', axis: { labelAngle: 0 } },
      y: { field: 'top1', type: 'quantitative', title: 'top-1 (%)', scale: { zero: false } },
      color: { field: 'protocol', type: 'nominal', title: 'protocol' },
    },
    config: CONFIG,
  };
}

/** vega-lite spec -> SVG text (headless vega view, no canvas). */
export async function specToSvg(spec: Spec): Promise<string> {
  const vl = await importEsm<VegaLiteModule>('vega-lite');
  const vega = await importEsm<VegaModule>('vega');
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes `file` as a PNG of the spec at 2x resolution. */
export async function renderSpecPng(spec: Spec, file: string): Promise<void> {
  const svg = await specToSvg(spec);
  const temp = `${file}.${process.pid}.tmp.png`;
  await sharp(Buffer.from(svg), { density: 144 }).png().toFile(temp);
  renameSync(temp, file);
}

/**
 * Renders every figure the report's experiments allow into profileDir.
 * @returns file names relative to profileDir, in report order
 */
export async function renderFigures(profileDir: string, report: Report, log: (line: string) => void = (l) => console.error(l)): Promise<string[]> {
  const summaries = shownSummaries(report);
  const figures: string[] = [];
  const render = async (spec: Spec | null, file: string) => {
    if (!spec) return;
    await renderSpecPng(spec, join(profileDir, file));
    figures.push(file);
  };
  await render(lossCurveSpec(summaries), 'loss-curves.png');
  await render(knnCurveSpec(summaries.filter(isCurveMethod), report.targets, 'kNN top-1 during pre-training'), 'knn-curves.png');
  const ablated = new Set(summaries.flatMap((s) => (s.ablation ? [s.experiment, s.ablation.of] : [])));
  await render(knnCurveSpec(summaries.filter((s) => ablated.has(s.experiment)), report.targets, 'kNN top-1 during pre-training: ablations and their bases'), 'knn-curves-ablations.png');
  for (const param of SWEEP_PARAMS) await render(sweepSpec(summaries, param), `sweep-${param}.png`);
  const pixelMae = summaries.find((s) => s.experiment === 'mae');
  if (pixelMae) {
    try {
      await renderReconstructionGrid(join(profileDir, pixelMae.pretrainedFrom ?? 'mae', 'pretrain', 'seed-0'), join(profileDir, 'reconstruction-mae.png'));
      figures.push('reconstruction-mae.png');
    } catch (error) {
      log(`reconstruction grid skipped: ${(error as Error).message}`);
    }
  }
  return figures;
}
