/**
 * The report's figures as PNG, without a canvas: vega-lite spec -> vega (headless view.toSVG) ->
 * sharp (librsvg) -> PNG. Pre-training loss curves of the bootstrap methods on one plot, one plot
 * per sweep (top-1 against K, tau, WSE), and the pixel MAE's reconstruction grid
 * (figures-reconstruction.ts).
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { SWEEP_PARAMS, type SweepParam } from './experiment';
import { renderReconstructionGrid } from './figures-reconstruction';
import { sweepPoints } from './report';
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

/** Experiments on the loss-curve plot: pixel MAE, every MAE-K, EMA-MAE and MAE-new (not the tau / WSE variants). */
export const LOSS_CURVE_EXPERIMENTS = /^(mae|mae-k\d+|mae-ema|mae-new)$/;

/** Loss against (fractional) epoch, one line per experiment. */
export function lossCurveSpec(summaries: readonly Summary[]): Spec | null {
  const values = summaries
    .filter((s) => LOSS_CURVE_EXPERIMENTS.test(s.experiment) && s.lossCurve.length > 0)
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

const PROTOCOL_TITLES = { linprobe: 'linear probe', finetune: 'fine-tune', knn: 'kNN' } as const;
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
 * Renders every figure the summaries allow into profileDir.
 * @returns file names relative to profileDir, in report order
 */
export async function renderFigures(profileDir: string, summaries: readonly Summary[], log: (line: string) => void = (l) => console.error(l)): Promise<string[]> {
  const figures: string[] = [];
  const loss = lossCurveSpec(summaries);
  if (loss) {
    await renderSpecPng(loss, join(profileDir, 'loss-curves.png'));
    figures.push('loss-curves.png');
  }
  for (const param of SWEEP_PARAMS) {
    const spec = sweepSpec(summaries, param);
    if (!spec) continue;
    await renderSpecPng(spec, join(profileDir, `sweep-${param}.png`));
    figures.push(`sweep-${param}.png`);
  }
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
