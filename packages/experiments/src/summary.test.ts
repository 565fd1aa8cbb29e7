import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stepRecord, writeFakeRuns } from './report-fixtures';
import { writeSummary, type Summary } from './summary';

describe('writeSummary (a runs folder written by hand)', () => {
  const root = mkdtempSync(join(tmpdir(), 'bmae-summary-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const ema = { kind: 'ema', name: 'ema', epoch: 1, mode: 'features', updates: 1 };

  it('combines seeds into mean +/- sample std in %, with timings and the loss curve of seed 0', () => {
    const metrics = [[{ step: 1, epoch: 0.5, loss: 2 }, stepRecord(2, 1, ema)], [{ step: 1, epoch: 1, loss: 9 }]];
    const out = writeFakeRuns(root, 'smoke', 'mae-ema', { linprobe: [50, 70], finetune: [90, 90], knn: [40, 40] }, metrics);
    const experiment = { description: 'EMA', pretrain: { target: { kind: 'ema' } }, sweeps: { tau: 0.005 }, paper: { linprobe: 60.46 }, ablation: { of: 'mae', varies: 'the target' } };
    const summary = writeSummary({ root, profile: 'smoke', name: 'mae-ema', experiment, seeds: 2, out });
    expect(summary.results.linprobe).toEqual({ mean: 60, std: expect.closeTo(14.1421, 4), n: 2, values: [50, 70] });
    expect(summary.results.finetune).toMatchObject({ mean: 90, std: 0 });
    expect(summary.stages.pretrain).toEqual({ seeds: 2, backend: 'cpu', seconds: 100, imagesPerSecond: 50, status: 'done' });
    expect(summary.lossCurve).toEqual([{ epoch: 0.5, loss: 2 }, { epoch: 1, loss: 1 / 3 }]);
    expect(summary).toMatchObject({ sweeps: { tau: 0.005 }, paper: { linprobe: 60.46 }, ablation: { of: 'mae', varies: 'the target' }, pretrainedFrom: 'mae-ema' });
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(summary)));
  });

  it("counts each stage's own seeds (stage.json), so a fine-tune of fewer seeds averages only those", () => {
    const out = writeFakeRuns(root, 'smoke', 'mae', { linprobe: [50, 52, 54], finetune: [80], knn: [40, 41, 42] }, [[], [], []]);
    const summary = writeSummary({ root, profile: 'smoke', name: 'mae', experiment: { description: '', pretrain: { target: { kind: 'pixels' } } }, seeds: 3, out });
    expect(summary.seeds).toBe(3);
    expect(summary.stages.finetune!.seeds).toBe(1);
    expect(summary.stages.linprobe!.seeds).toBe(3);
    expect(summary.results.finetune).toEqual({ mean: 80, std: 0, n: 1, values: [80] });
    expect(summary.results.linprobe).toMatchObject({ mean: 52, std: 2, n: 3, values: [50, 52, 54] });
    expect(summary).not.toHaveProperty('ablation');
  });

  it("collects every seed's kNN learning curve from the monitor records, in %, and none without them", () => {
    const monitor = (epoch: number, knnTop1: number) => ({ step: epoch * 10, epoch, monitor: { knnTop1 } });
    const metrics = [
      [monitor(0, 0.25), stepRecord(5, 1, ema), monitor(2, 0.3)],
      [monitor(0, 0.2), stepRecord(5, 1, ema), monitor(2, 0.35)],
    ];
    const out = writeFakeRuns(root, 'smoke', 'curves', { linprobe: [1, 2], finetune: [1, 2], knn: [1, 2] }, metrics);
    const experiment = { description: '', pretrain: { target: { kind: 'ema' } } };
    const summary: Summary = writeSummary({ root, profile: 'smoke', name: 'curves', experiment, seeds: 2, out });
    expect(summary.knnCurves).toEqual([
      [{ epoch: 0, top1: 25 }, { epoch: 2, top1: 30 }],
      [{ epoch: 0, top1: 20 }, { epoch: 2, top1: 35 }],
    ]);
    // the loss curve has only training records
    expect(summary.lossCurve).toEqual([{ epoch: 1, loss: 1 / 6 }]);

    const flat = writeFakeRuns(root, 'smoke', 'flat', { linprobe: [1], finetune: [1], knn: [1] }, [[stepRecord(5, 1, ema)]]);
    expect(writeSummary({ root, profile: 'smoke', name: 'flat', experiment, seeds: 1, out: flat }).knnCurves).toEqual([]);
  });

  it('names the missing stage when an evaluation has not run', () => {
    mkdirSync(join(root, 'smoke', 'half', 'summary'), { recursive: true });
    expect(() => writeSummary({ root, profile: 'smoke', name: 'half', experiment: { description: '', pretrain: null }, seeds: 1, out: join(root, 'smoke', 'half', 'summary') })).toThrow(
      `cannot summarise half: ${join(root, 'smoke', 'half', 'linprobe', 'stage.json')} is missing (run the linprobe stage first)`,
    );
  });
});
