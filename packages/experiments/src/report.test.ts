import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CIFAR10_CLASS_NAMES } from '@bmae/data';
import { classificationMetrics, EVAL_RECORD_SCHEMA, writeEvalRecord, type EvalRecord } from '@bmae/eval';
import { buildReport, describeTargetState, readFinalTargets, formatResult, readSummaries, renderMarkdown } from './report';
import { writeSummary } from './summary';

/** An eval record whose top-1 is `correct` out of 10 test images. */
function record(protocol: EvalRecord['protocol'], seed: number, correct: number): EvalRecord {
  const labels = Array.from({ length: 10 }, (_, i) => i);
  const predicted = labels.map((l, i) => (i < correct ? l : (l + 1) % 10));
  return {
    schema: EVAL_RECORD_SCHEMA, protocol, encoder: { checkpoint: null, preset: 'micro' },
    data: { source: 'synthetic', fingerprint: 'f', trainCount: 20, testCount: 10 },
    metrics: classificationMetrics(predicted, labels, CIFAR10_CLASS_NAMES), history: [], settings: {}, backend: 'cpu', seed, seconds: 1, createdAt: '',
  };
}

describe('summary and report', () => {
  const root = mkdtempSync(join(tmpdir(), 'bmae-report-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** runs/smoke/<name>/ with 2 seeds of every protocol and a pre-training loss log */
  function fakeExperiment(name: string, correct: Record<'linprobe' | 'finetune' | 'knn', [number, number]>, sweeps: Record<string, number> = {}) {
    for (const stage of ['linprobe', 'finetune', 'knn'] as const) {
      const dir = join(root, 'smoke', name, stage);
      mkdirSync(dir, { recursive: true });
      correct[stage].forEach((c, seed) => writeEvalRecord(join(dir, `seed-${seed}.json`), record(stage, seed, c)));
      writeFileSync(join(dir, 'stage.json'), JSON.stringify({ backend: 'cpu', seconds: 12.3, imagesPerSecond: 456.7, status: 'done' }));
    }
    const pretrain = join(root, 'smoke', name, 'pretrain');
    mkdirSync(join(pretrain, 'seed-0'), { recursive: true });
    writeFileSync(join(pretrain, 'stage.json'), JSON.stringify({ backend: 'cpu', seconds: 100, imagesPerSecond: 50, status: 'done' }));
    writeFileSync(join(pretrain, 'seed-0', 'metrics.jsonl'), '{"step":1,"epoch":0.5,"loss":2}\n{"step":2,"epoch":1,"loss":1.5,"target":{"kind":"ema","name":"ema","epoch":1,"mode":"features","updates":1,"tau":0.005}}\n');
    const out = join(root, 'smoke', name, 'summary');
    mkdirSync(out, { recursive: true });
    return writeSummary({ root, profile: 'smoke', name, experiment: { description: name, pretrain: { target: { kind: 'ema' } }, sweeps, paper: { linprobe: 60.46 } }, seeds: 2, out });
  }

  it('combines seeds into mean +/- sample std in %, with timings and the loss curve', () => {
    const summary = fakeExperiment('mae-ema', { linprobe: [5, 7], finetune: [9, 9], knn: [4, 4] }, { tau: 0.005 });
    expect(summary.results.linprobe).toEqual({ mean: 60, std: expect.closeTo(14.1421, 4), n: 2, values: [50, 70] });
    expect(summary.results.finetune).toMatchObject({ mean: 90, std: 0 });
    expect(summary.stages.pretrain).toEqual({ backend: 'cpu', seconds: 100, imagesPerSecond: 50, status: 'done' });
    expect(summary.lossCurve).toEqual([{ epoch: 0.5, loss: 2 }, { epoch: 1, loss: 1.5 }]);
    expect(formatResult(summary.results.linprobe)).toBe('60.00 ± 14.14');
  });

  it('names the missing stage when an evaluation has not run', () => {
    mkdirSync(join(root, 'smoke', 'half', 'summary'), { recursive: true });
    expect(() => writeSummary({ root, profile: 'smoke', name: 'half', experiment: { description: '', pretrain: null }, seeds: 1, out: join(root, 'smoke', 'half', 'summary') })).toThrow(
      `cannot summarise half: ${join(root, 'smoke', 'half', 'linprobe', 'stage.json')} is missing (run the linprobe stage first)`,
    );
  });

  it('the report lists every finished experiment beside the paper numbers, and each sweep in order', () => {
    fakeExperiment('mae-ema-tau0.1', { linprobe: [3, 3], finetune: [8, 8], knn: [2, 2] }, { tau: 0.1 });
    const summaries = readSummaries(join(root, 'smoke'));
    expect(summaries.map((s) => s.experiment)).toEqual(['mae-ema', 'mae-ema-tau0.1']);
    const report = buildReport('smoke', summaries, ['loss-curves.png'], readFinalTargets(join(root, 'smoke'), summaries));
    expect(report.sweeps.tau!.map((p) => [p.value, p.experiment])).toEqual([[0.005, 'mae-ema'], [0.1, 'mae-ema-tau0.1']]);
    const md = renderMarkdown(report);
    expect(md).toContain('| mae-ema | 60.00 ± 14.14 | 60.46 | 90.00 ± 0.00 |  | 40.00 ± 0.00 | 2 | ema: features, 1 update |');
    expect(md).toContain('| 0.1 | mae-ema-tau0.1 | 30.00 ± 0.00 | 80.00 ± 0.00 | 20.00 ± 0.00 |');
    expect(md).toContain('| mae-ema | 100 s, 50 img/s | 12 s, 457 img/s | 12 s, 457 img/s | 12 s, 457 img/s |');
    expect(md).toContain('![loss-curves.png](loss-curves.png)');
  });

  it('describes the target each pre-training ended with, so a schedule that never bootstrapped shows', () => {
    expect(describeTargetState({ kind: 'pixels', name: 'pixels', mode: 'pixels', updates: 0 })).toBe('pixels');
    expect(describeTargetState({ kind: 'snapshot', name: 'snapshot', mode: 'pixels', updates: 0 })).toBe('snapshot: pixels, 0 updates');
    const sum = {
      kind: 'sum', name: 'sum', mode: 'features', updates: 7,
      components: [
        { weight: 1, state: { kind: 'ema', name: 'fast', mode: 'features', updates: 6 } },
        { weight: 0.2, state: { kind: 'snapshot', name: 'slow', mode: 'features', updates: 1 } },
      ],
    };
    expect(describeTargetState(sum)).toBe('fast: features, 6 updates; slow: features, 1 update');
  });
});
