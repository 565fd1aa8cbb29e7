import { composeGrid } from './figures-reconstruction';
import { lossCurveSpec, sweepSpec } from './figures';
import type { Summary } from './summary';

function summary(experiment: string, extra: Partial<Summary> = {}): Summary {
  return {
    schema: 'bmae.summary.v1', experiment, profile: 'smoke', description: '', sweeps: {}, paper: {}, seeds: 1,
    results: { linprobe: { mean: 50, std: 0, n: 1, values: [50] }, finetune: null, knn: { mean: 40, std: 0, n: 1, values: [40] } },
    stages: {}, lossCurve: [{ epoch: 0.5, loss: 1 }, { epoch: 1, loss: 0.5 }], knnCurves: [], pretrainedFrom: experiment, createdAt: '', ...extra,
  };
}

const data = (spec: Record<string, unknown> | null) => (spec!.data as { values: Array<Record<string, unknown>> }).values;

describe('figure specs', () => {
  it('the loss plot shows MAE, MAE-K, EMA-MAE and MAE-new, not the tau/WSE variants or runs without a curve', () => {
    const spec = lossCurveSpec([summary('mae'), summary('mae-k10'), summary('mae-ema'), summary('mae-ema-tau0.1'), summary('mae-new'), summary('scratch', { lossCurve: [] })]);
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
