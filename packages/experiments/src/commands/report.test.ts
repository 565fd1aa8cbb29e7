import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stepRecord, writeFakeRuns } from '../report-fixtures';
import { writeSummary } from '../summary';
import { runReport } from './report';

describe('bmae report', () => {
  const root = mkdtempSync(join(tmpdir(), 'bmae-report-command-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const experiment = { description: '', pretrain: { target: { kind: 'ema' } } };
  for (const [name, linprobe] of [['mae', [50, 52, 55]], ['mae-ema', [52, 53, 57]]] as const) {
    const out = writeFakeRuns(root, 'smoke', name, { linprobe: [...linprobe], finetune: [80], knn: [40, 41, 42] }, [[], [], []]);
    writeSummary({ root, profile: 'smoke', name, experiment, seeds: 3, out });
  }

  it("prints an experiment's results with its paired differences against mae, and writes report.md and report.json", async () => {
    const lines: string[] = [];
    const md = await runReport({ profile: 'smoke', experiment: 'mae-ema', runsDir: root, figures: false }, (l) => lines.push(l));
    expect(lines[0]).toBe(
      'mae-ema: linear probe 54.00 ± 2.65 (n=3)  fine-tune 80.00 (n=1)  kNN 41.00 ± 1.00 (n=3)  (top-1 %); vs mae: linear probe ▲ +1.67 [+0.23, +3.10], fine-tune 0.00 (1 seed: no interval), kNN 0.00 [0.00, 0.00] (no spread)',
    );
    expect(lines[1]).toBe(`report: ${join(root, 'smoke', 'report.md')}`);
    expect(readFileSync(md, 'utf8')).toContain('| mae-ema | 54.00 ± 2.65 (n=3) | **▲ +1.67 [+0.23, +3.10]** |');
    const json = JSON.parse(readFileSync(join(root, 'smoke', 'report.json'), 'utf8'));
    expect(json.table[1].comparison.differences.linprobe.interval.t).toBeCloseTo(4.3027, 4);
  });

  it('renders the figures as PNG through the bmae command (vega needs a real ESM import: not under jest)', () => {
    const figures = mkdtempSync(join(tmpdir(), 'bmae-report-figures-'));
    try {
      const target = (epoch: number, mode: string) => ({ kind: 'snapshot', name: 'snapshot', epoch, mode, updates: mode === 'features' ? 1 : 0 });
      const seed = (top1: number[], kind: string) => [
        { step: 0, epoch: 0, monitor: { knnTop1: top1[0] } },
        stepRecord(1, 1, kind === 'pixels' ? { kind, name: kind, epoch: 0, mode: kind, updates: 0 } : target(0, 'pixels')),
        { step: 2, epoch: 1, monitor: { knnTop1: top1[1] } },
        stepRecord(3, 2, kind === 'pixels' ? { kind, name: kind, epoch: 1, mode: kind, updates: 0 } : target(1, 'features')),
        { step: 4, epoch: 2, monitor: { knnTop1: top1[2] } },
      ];
      for (const [name, kind, shift] of [['mae', 'pixels', 0], ['mae-k1', 'snapshot', 0.02]] as const) {
        const metrics = [seed([0.2, 0.3, 0.35].map((t) => t + shift), kind), seed([0.21, 0.28, 0.37].map((t) => t + shift), kind)];
        const out = writeFakeRuns(figures, 'smoke', name, { linprobe: [50, 52], finetune: [80], knn: [40, 41] }, metrics);
        writeSummary({ root: figures, profile: 'smoke', name, experiment: { description: '', pretrain: { target: { kind } }, sweeps: name === 'mae-k1' ? { k: 1 } : undefined }, seeds: 2, out });
      }
      const bmae = resolve(__dirname, '../../bin/bmae.js');
      const run = spawnSync(process.execPath, [bmae, 'report', '--profile', 'smoke', '--runs-dir', figures], { encoding: 'utf8' });
      expect(run.stderr).toContain('reconstruction grid skipped'); // no checkpoint in a hand-written runs folder
      expect(run.status).toBe(0);
      const md = readFileSync(join(figures, 'smoke', 'report.md'), 'utf8');
      for (const figure of ['loss-curves.png', 'knn-curves.png', 'sweep-k.png']) {
        expect(md).toContain(`![${figure}](${figure})`);
        expect(readFileSync(join(figures, 'smoke', figure)).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      }
    } finally {
      rmSync(figures, { recursive: true, force: true });
    }
  });

  it('adds no listeners to the process, however often it runs (the report step ends a chain of stages)', async () => {
    const listeners = () => Object.fromEntries(process.eventNames().map((name) => [String(name), process.listenerCount(name)]));
    await runReport({ profile: 'smoke', experiment: 'mae-ema', runsDir: root, figures: false }, () => {});
    const before = listeners();
    for (let i = 0; i < 12; i++) await runReport({ profile: 'smoke', experiment: 'mae-ema', runsDir: root, figures: false }, () => {});
    expect(listeners()).toEqual(before);
  });

  it('names the missing summary', async () => {
    await expect(runReport({ profile: 'smoke', experiment: 'mae-new', runsDir: root, figures: false }, () => {})).rejects.toThrow(`experiment mae-new has no summary in ${join(root, 'smoke')}`);
  });
});
