import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeSummary, stepRecord, writeFakeRuns } from './report-fixtures';
import { describeTargetState, neverBootstrapped, readTargetHistories, targetHistory, type LoggedTargetState } from './report-targets';

const pixels: LoggedTargetState = { kind: 'pixels', name: 'pixels', epoch: 0, mode: 'pixels', updates: 0 };
const snapshot = (epoch: number, mode: string, updates: number): LoggedTargetState => ({ kind: 'snapshot', name: 'snapshot', epoch, mode, updates });
const sum = (fast: LoggedTargetState, slow: LoggedTargetState): LoggedTargetState => ({
  kind: 'sum', name: 'sum', epoch: fast.epoch, mode: fast.mode === 'features' || slow.mode === 'features' ? 'features' : 'pixels', updates: fast.updates + slow.updates,
  components: [{ weight: 1, state: { ...fast, kind: 'ema', name: 'fast' } }, { weight: 0.2, state: { ...slow, name: 'slow' } }],
});

describe('target histories', () => {
  it('describes the target each pre-training ended with, so a schedule that never bootstrapped shows', () => {
    expect(describeTargetState(pixels)).toBe('pixels');
    expect(describeTargetState(snapshot(9, 'pixels', 0))).toBe('snapshot: pixels, 0 updates');
    expect(describeTargetState(sum(snapshot(9, 'features', 6), snapshot(9, 'features', 1)))).toBe('fast: features, 6 updates; slow: features, 1 update');
  });

  it('bootstrapping starts at the epoch of the first record on features, the earliest part of a sum', () => {
    const k4 = targetHistory([snapshot(0, 'pixels', 0), snapshot(3, 'pixels', 0), snapshot(4, 'features', 1), snapshot(8, 'features', 2)], 10);
    expect(k4).toEqual({ final: 'snapshot: features, 2 updates', bootstrapKind: true, bootstrapEpoch: 4, epochs: 10 });
    const late = snapshot(6, 'pixels', 0);
    expect(targetHistory([sum(snapshot(4, 'pixels', 0), late), sum(snapshot(5, 'features', 1), late)], 10).bootstrapEpoch).toBe(5);
  });

  it('a bootstrap target that stayed on pixels never bootstrapped; pixel MAE and a half-bootstrapped sum did not "fail to"', () => {
    const k10 = targetHistory([snapshot(0, 'pixels', 0), snapshot(9, 'pixels', 0)], 10);
    expect(k10).toMatchObject({ bootstrapKind: true, bootstrapEpoch: null });
    expect(neverBootstrapped(k10)).toBe(true);
    expect(neverBootstrapped(targetHistory([pixels], 10))).toBe(false);
    expect(neverBootstrapped(targetHistory([sum(snapshot(5, 'features', 5), snapshot(5, 'pixels', 0))], 10))).toBe(false);
    expect(neverBootstrapped(undefined)).toBe(false); // no metrics: nothing known, nothing left out
  });

  it("reads seed 0's metrics.jsonl of the pre-training each experiment used, skipping monitor records", () => {
    const root = mkdtempSync(join(tmpdir(), 'bmae-targets-'));
    try {
      const monitor = { step: 0, epoch: 0, monitor: { knnTop1: 0.1 } };
      writeFakeRuns(root, 'smoke', 'mae-k4', { linprobe: [1], finetune: [1], knn: [1] }, [[monitor, stepRecord(1, 3.8, snapshot(3, 'pixels', 0)), stepRecord(2, 4.2, snapshot(4, 'features', 1)), stepRecord(3, 10, snapshot(9, 'features', 2)), monitor]]);
      const summaries = [fakeSummary('mae-k4', {}), fakeSummary('shares-k4', {}, { pretrainedFrom: 'mae-k4' }), fakeSummary('scratch', {}, { pretrainedFrom: null }), fakeSummary('no-metrics', {})];
      const histories = readTargetHistories(join(root, 'smoke'), summaries);
      expect(Object.keys(histories)).toEqual(['mae-k4', 'shares-k4']);
      expect(histories['shares-k4']).toEqual({ final: 'snapshot: features, 2 updates', bootstrapKind: true, bootstrapEpoch: 4, epochs: 10 });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
