import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReport, readSummaries, shownSummaries } from './report';
import { fakeSummary, writeFakeRuns } from './report-fixtures';
import { formatDifference, formatResult, formatSigned, renderMarkdown, resultLine } from './report-markdown';
import type { TargetHistory } from './report-targets';
import { writeSummary } from './summary';

const bootstrapped = (epoch: number, final: string): TargetHistory => ({ final, bootstrapKind: true, bootstrapEpoch: epoch, epochs: 2 });
const neverBootstrapped: TargetHistory = { final: 'snapshot: pixels, 0 updates', bootstrapKind: true, bootstrapEpoch: null, epochs: 2 };
const pixelTarget: TargetHistory = { final: 'pixels', bootstrapKind: false, bootstrapEpoch: null, epochs: 2 };

// Hand-computed differences against mae (linear probe 50, 52, 55):
//   mae-ema 52, 53, 57: d = (2, 1, 2), mean 1.667, sd 0.5774, ± 4.3027 · 0.5774 / √3 = 1.434 -> [0.23, 3.10]: above 0
//   scratch 40, 41, 42: d = (-10, -11, -13), mean -11.333, sd 1.5275, ± 3.795 -> [-15.13, -7.54]: below 0
//   mae-k4  51, 52, 56: d = (1, 0, 1), mean 0.667, sd 0.5774 -> [-0.77, 2.10]: includes 0
const summaries = [
  fakeSummary('mae', { linprobe: [50, 52, 55], finetune: [80], knn: [40, 41, 42] }, { paper: { linprobe: 52.35, finetune: 85.83 } }),
  fakeSummary('mae-ema', { linprobe: [52, 53, 57], finetune: [81], knn: [39, 41, 45] }, { sweeps: { tau: 0.005 } }),
  fakeSummary('mae-ema-noln', { linprobe: [51, 53, 55], finetune: [79], knn: [40, 40, 40] }, { ablation: { of: 'mae-ema', varies: 'no LayerNorm on the feature target' } }),
  fakeSummary('mae-k10', { linprobe: [50, 52, 55], finetune: [80], knn: [40, 41, 42] }, { sweeps: { k: 10 } }),
  fakeSummary('mae-k4', { linprobe: [51, 52, 56], finetune: [80], knn: [40] }, { sweeps: { k: 4 } }),
  fakeSummary('mae-new-x', { linprobe: [50] }, { ablation: { of: 'mae-new', varies: 'lambda 1' } }),
  fakeSummary('scratch', { linprobe: [40, 41, 42], finetune: [70], knn: [30, 31, 32] }, { pretrainedFrom: null }),
];
const targets = { mae: pixelTarget, 'mae-ema': bootstrapped(1, 'ema: features, 1 update'), 'mae-ema-noln': bootstrapped(1, 'ema: features, 1 update'), 'mae-k10': neverBootstrapped, 'mae-k4': bootstrapped(1, 'snapshot: features, 1 update') };

describe('formatting', () => {
  it('results as mean ± std (n), differences as mean [interval], marked only when the interval excludes 0', () => {
    expect(formatResult({ mean: 60, std: 14.1421, n: 2, values: [50, 70] })).toBe('60.00 ± 14.14 (n=2)');
    expect(formatResult({ mean: 60, std: 0, n: 1, values: [60] })).toBe('60.00 (n=1)');
    expect(formatResult(null)).toBe('—');
    expect([formatSigned(1.234), formatSigned(-0.4), formatSigned(-0.001)]).toEqual(['+1.23', '−0.40', '0.00']);
    const interval = (low: number, high: number) => ({ level: 0.95, df: 2, t: 4.3, halfWidth: (high - low) / 2, low, high, excludesZero: low > 0 || high < 0 });
    const d = (mean: number, low: number, high: number) => ({ mean, std: 1, n: 3, seeds: [0, 1, 2], differences: [], interval: interval(low, high) });
    expect(formatDifference(d(1.23, -0.4, 2.86))).toBe('+1.23 [−0.40, +2.86]');
    expect(formatDifference(d(1.23, 0.4, 2.06))).toBe('**▲ +1.23 [+0.40, +2.06]**');
    expect(formatDifference(d(-1.23, -2.06, -0.4))).toBe('**▼ −1.23 [−2.06, −0.40]**');
    expect(formatDifference(d(-1.23, -2.06, -0.4), { markdown: false })).toBe('▼ −1.23 [−2.06, −0.40]');
    expect(formatDifference({ mean: 1, std: 0, n: 1, seeds: [0], differences: [1], interval: null })).toBe('+1.00 (1 seed: no interval)');
    expect(formatDifference(null)).toBe('—');
    // 12.000000000000002 - 10 and 14 - 12: a spread of 1e-15 is none at the precision shown
    expect(formatDifference(d(-2, -2.000000000000004, -1.999999999999996))).toBe('**▼ −2.00 [−2.00, −2.00] (no spread)**');
  });
});

describe('buildReport and renderMarkdown', () => {
  const report = buildReport('smoke', summaries, targets, ['knn-curves.png']);
  const md = renderMarkdown(report);
  const line = (start: string) => md.split('\n').find((l) => l.startsWith(start));

  it('the main table: mean ± std (n) per protocol, the paired difference against mae with its interval, mae as the baseline', () => {
    expect(md).toContain('| experiment | linear probe | Δ vs mae | report | fine-tune | Δ vs mae | report | kNN | Δ vs mae | target at the end of pre-training |');
    expect(line('| mae |')).toBe('| mae | 52.33 ± 2.52 (n=3) | baseline | 52.35 | 80.00 (n=1) | baseline | 85.83 | 41.00 ± 1.00 (n=3) | baseline | pixels |');
    expect(line('| mae-ema |')).toBe('| mae-ema | 54.00 ± 2.65 (n=3) | **▲ +1.67 [+0.23, +3.10]** |  | 81.00 (n=1) | +1.00 (1 seed: no interval) |  | 41.67 ± 3.06 (n=3) | +0.67 [−4.50, +5.84] | ema: features, 1 update |');
    expect(line('| scratch |')).toContain('| **▼ −11.33 [−15.13, −7.54]** |');
    expect(line('| scratch |')).toMatch(/\| no pre-training \|$/);
    // seeds both ran: mae-k4's one kNN seed against mae's first
    expect(line('| mae-k4 |')).toContain('| 40.00 (n=1) | 0.00 (1 seed: no interval) |');
  });

  it('report.json carries the per-seed differences, the interval, the t quantile and n', () => {
    const ema = report.table.find((r) => r.experiment === 'mae-ema')!.comparison!;
    expect(ema.against).toBe('mae');
    expect(ema.differences.linprobe).toMatchObject({ n: 3, seeds: [0, 1, 2], differences: [2, 1, 2], mean: expect.closeTo(5 / 3, 12) });
    expect(ema.differences.linprobe!.interval).toMatchObject({ level: 0.95, df: 2, t: expect.closeTo(4.3027, 4), low: expect.closeTo(0.2324, 4), excludesZero: true });
    expect(ema.differences.finetune).toMatchObject({ n: 1, interval: null });
    expect(report.table.find((r) => r.experiment === 'mae')!.comparison).toBeNull();
    expect(report).toMatchObject({ schema: 'bmae.report.v2', baseline: 'mae', confidenceLevel: 0.95 });
    expect(report.experiments.find((s) => s.experiment === 'mae-ema')!.results.linprobe!.values).toEqual([52, 53, 57]);
  });

  it('an experiment whose target never bootstrapped is mae under another name: out of every table, named in a note', () => {
    expect(report.table.map((r) => r.experiment)).toEqual(['mae', 'mae-ema', 'mae-k4', 'scratch']);
    expect(report.excluded).toEqual([
      {
        experiment: 'mae-k10',
        reason: "its target never bootstrapped within this profile's 2 epochs (snapshot: pixels, 0 updates), so it is mae under another name; profiles that train longer: quick (10 epochs), medium (16 epochs), paper (200 epochs)",
      },
    ]);
    expect(md).not.toContain('| mae-k10 | 52.33'); // (its stage times stay in the stage table)
    expect(line('| 10 |')).toBeUndefined();
    expect(md).toContain("- mae-k10: its target never bootstrapped within this profile's 2 epochs");
    expect(shownSummaries(report).map((s) => s.experiment)).not.toContain('mae-k10');
    // The baseline itself is never left out, whatever its history says.
    expect(buildReport('smoke', summaries, { ...targets, mae: neverBootstrapped }).excluded.map((e) => e.experiment)).toEqual(['mae-k10']);
  });

  it('each sweep point is paired with mae', () => {
    expect(report.sweeps.k!.map((p) => p.experiment)).toEqual(['mae-k4']);
    expect(md).toContain('| k | experiment | linear probe | Δ vs mae | fine-tune | Δ vs mae | kNN | Δ vs mae |');
    expect(line('| 4 | mae-k4 |')).toContain('| 53.00 ± 2.65 (n=3) | +0.67 [−0.77, +2.10] |');
    expect(line('| 0.005 | mae-ema |')).toContain('**▲ +1.67 [+0.23, +3.10]**');
  });

  it('ablations are grouped by the experiment they change and paired with it, not with mae', () => {
    expect(Object.keys(report.ablations)).toEqual(['mae-ema', 'mae-new']);
    expect(report.ablations['mae-ema'].map((r) => [r.experiment, r.comparison?.against ?? null])).toEqual([['mae-ema', null], ['mae-ema-noln', 'mae-ema']]);
    expect(md).toContain('### Ablations of `mae-ema`');
    expect(md).toContain('| experiment | varies | linear probe | Δ vs mae-ema | fine-tune | Δ vs mae-ema | kNN | Δ vs mae-ema |');
    // linear probe d = (-1, 0, -2): mean -1, sd 1, ± 4.3027 / √3 = 2.484; kNN d = (1, -1, -5): mean -1.667, sd 3.055, ± 7.59
    expect(line('| mae-ema-noln |')).toBe('| mae-ema-noln | no LayerNorm on the feature target | 53.00 ± 2.00 (n=3) | −1.00 [−3.48, +1.48] | 79.00 (n=1) | −2.00 (1 seed: no interval) | 40.00 ± 0.00 (n=3) | −1.67 [−9.26, +5.92] |');
    expect(line('| mae-ema |  |')).toContain('| 54.00 ± 2.65 (n=3) | base |');
    expect(md).toContain('No summary of `mae-new` yet: no paired differences.');
    expect(line('| mae-new-x |')).toBe('| mae-new-x | lambda 1 | 50.00 (n=1) | — | — |');
    expect(line('| mae-ema-noln | 5')).toBeUndefined(); // not in the main table
  });

  it('without a mae summary there are no differences, and the report says why', () => {
    const noBase = renderMarkdown(buildReport('smoke', summaries.filter((s) => s.experiment !== 'mae'), targets));
    expect(noBase).toContain('No `mae` summary yet: no paired differences');
    expect(noBase).toContain('| experiment | linear probe | report | fine-tune | report | kNN | target at the end of pre-training |');
  });

  it("the printed line gives the differences against mae, and an ablation's against its base", () => {
    expect(resultLine(report, 'mae-ema')).toBe(
      'mae-ema: linear probe 54.00 ± 2.65 (n=3)  fine-tune 81.00 (n=1)  kNN 41.67 ± 3.06 (n=3)  (top-1 %); vs mae: linear probe ▲ +1.67 [+0.23, +3.10], fine-tune +1.00 (1 seed: no interval), kNN +0.67 [−4.50, +5.84]',
    );
    expect(resultLine(report, 'mae')).toBe('mae: linear probe 52.33 ± 2.52 (n=3)  fine-tune 80.00 (n=1)  kNN 41.00 ± 1.00 (n=3)  (top-1 %)');
    expect(resultLine(report, 'mae-ema-noln')).toMatch(/; vs mae: linear probe \+0\.67 .*; vs mae-ema: linear probe −1\.00 \[−3\.48, \+1\.48\]/);
    expect(resultLine(report, 'mae-k10')).toMatch(/; left out of the report: its target never bootstrapped/);
  });
});

describe('the report of a runs folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'bmae-report-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads every summary, with the paper numbers, stage times and seeds per stage', () => {
    const experiment = { description: '', pretrain: { target: { kind: 'ema' } }, paper: { linprobe: 60.46 } };
    for (const [name, linprobe] of [['mae', [50, 52, 54]], ['mae-ema', [60, 62, 64]]] as const) {
      const out = writeFakeRuns(join(root, 'runs'), 'smoke', name, { linprobe: [...linprobe], finetune: [90], knn: [40, 40, 40] }, [[], [], []]);
      writeSummary({ root: join(root, 'runs'), profile: 'smoke', name, experiment, seeds: 3, out });
    }
    const read = readSummaries(join(root, 'runs', 'smoke'));
    expect(read.map((s) => s.experiment)).toEqual(['mae', 'mae-ema']);
    const md = renderMarkdown(buildReport('smoke', read, {}, ['loss-curves.png']));
    // equal differences on every seed: an interval of width 0 (around 10 it excludes 0, around 0 it does not), said as "no spread"
    expect(md).toContain('| mae-ema | 62.00 ± 2.00 (n=3) | **▲ +10.00 [+10.00, +10.00] (no spread)** | 60.46 | 90.00 (n=1) | 0.00 (1 seed: no interval) |  | 40.00 ± 0.00 (n=3) | 0.00 [0.00, 0.00] (no spread) |');
    expect(md).toContain('| mae-ema | 100 s, 50 img/s | 12 s, 457 img/s | 12 s, 457 img/s (1 of 3 seeds) | 12 s, 457 img/s |');
    expect(md).toContain('![loss-curves.png](loss-curves.png)');
  });
});
