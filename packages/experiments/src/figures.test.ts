import { composeGrid } from './figures-reconstruction';
import { knnCurveSpec, lossCurveSpec, sweepSpec } from './figures';
import { fakeSummary } from './report-fixtures';
import type { TargetHistory } from './report-targets';
import type { Summary } from './summary';

const summary = (experiment: string, extra: Partial<Summary> = {}) => fakeSummary(experiment, { linprobe: [50], knn: [40] }, extra);

const data = (spec: Record<string, unknown> | null) => (spec!.data as { values: Array<Record<string, unknown>> }).values;

describe('figure specs', () => {
  it('the loss plot shows MAE, MAE-K, EMA-MAE and MAE-new, not the tau/WSE variants, ablations or runs without a curve', () => {
    const ablation = summary('mae-k8', { ablation: { of: 'mae-k10', varies: 'K' } });
    const spec = lossCurveSpec([summary('mae'), summary('mae-k10'), summary('mae-ema'), summary('mae-ema-tau0.1'), summary('mae-new'), summary('scratch', { lossCurve: [] }), ablation]);
    expect([...new Set(data(spec).map((v) => v.experiment))]).toEqual(['mae', 'mae-k10', 'mae-ema', 'mae-new']);
    expect(data(spec)[1]).toEqual({ experiment: 'mae', epoch: 1, loss: 0.5 });
    expect(lossCurveSpec([summary('scratch', { lossCurve: [] })])).toBeNull();
  });

  it('a sweep plot has one point per member and protocol that ran, sorted by value', () => {
    const spec = sweepSpec([summary('mae-k10', { sweeps: { k: 10 } }), summary('mae-k2', { sweeps: { k: 2 } }), summary('mae')], 'k');
    expect(data(spec).map((v) => [v.value, v.protocol, v.top1])).toEqual([
      [2, 'linear probe', 50], [2, 'kNN', 40], [10, 'linear probe', 50], [10, 'kNN', 40],
    ]);
    expect(sweepSpec([summary('mae')], 'tau')).toBeNull();
  });
});

describe('kNN learning curves', () => {
  const curve = (...top1: number[]) => top1.map((t, i) => ({ epoch: 2 * i, top1: t }));
  const history = (bootstrapEpoch: number | null): TargetHistory => ({ final: '', bootstrapKind: true, bootstrapEpoch, epochs: 4 });
  const layers = (spec: Record<string, unknown> | null) => spec!.layer as Array<{ mark: { type: string }; data: { values: Array<Record<string, unknown>> }; transform?: unknown[] }>;

  it('every seed of every experiment with a curve, drawn as a min-max band and a mean line, with a rule where bootstrapping starts', () => {
    const spec = knnCurveSpec(
      [summary('mae', { knnCurves: [curve(20, 30, 35), curve(22, 31, 33)] }), summary('mae-k2', { knnCurves: [curve(20, 32, 38), curve(21, 30, 36)] }), summary('scratch')],
      { 'mae-k2': history(2), mae: { final: 'pixels', bootstrapKind: false, bootstrapEpoch: null, epochs: 4 } },
      'kNN',
    );
    const [band, mean, rule] = layers(spec);
    expect([band.mark.type, mean.mark.type, rule.mark.type]).toEqual(['area', 'line', 'rule']);
    expect(band.data.values).toHaveLength(12); // 2 experiments x 2 seeds x 3 points
    expect(band.data.values[3]).toEqual({ experiment: 'mae', seed: 1, epoch: 0, top1: 22 });
    expect(band.transform).toEqual([{ aggregate: [{ op: 'min', field: 'top1', as: 'low' }, { op: 'max', field: 'top1', as: 'high' }], groupby: ['experiment', 'epoch'] }]);
    expect(rule.data.values).toEqual([{ experiment: 'mae-k2', epoch: 2 }]);
    expect((spec!.title as { subtitle: string }).subtitle).toContain('mean over 2 seeds');
  });

  it('no rule without a bootstrap start, no figure without curves', () => {
    expect(layers(knnCurveSpec([summary('mae', { knnCurves: [curve(20, 30)] })], { mae: history(null) }, 'kNN'))).toHaveLength(2);
    expect(knnCurveSpec([summary('scratch')], {}, 'kNN')).toBeNull();
  });
});

describe('composeGrid', () => {
  it('places upscaled images on a white background, clipping to [0, 1]', () => {
    // two 2x2 images: the first all black, the second all 2.0 (clipped to white) except one red pixel
    const images = new Float32Array(2 * 2 * 2 * 3);
    images.fill(2, 12);
    images.set([1, 0, 0], 12);
    const { raw, width, height } = composeGrid(images, 2, 2, 2);
    expect([width, height]).toEqual([2 * 6 + 3 * 4, 6 + 2 * 4]); // cells of 2*3 px, gaps of 4
    const at = (x: number, y: number) => [...raw.slice((y * width + x) * 3, (y * width + x) * 3 + 3)];
    expect(at(0, 0)).toEqual([255, 255, 255]); // gap
    expect(at(4, 4)).toEqual([0, 0, 0]); // first image
    expect(at(14, 4)).toEqual([255, 0, 0]); // second image, top-left pixel upscaled
    expect(at(17, 4)).toEqual([255, 255, 255]);
  });
});
