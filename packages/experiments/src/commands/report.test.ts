import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFakeRuns } from '../report-fixtures';
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

  it('names the missing summary', async () => {
    await expect(runReport({ profile: 'smoke', experiment: 'mae-new', runsDir: root, figures: false }, () => {})).rejects.toThrow(`experiment mae-new has no summary in ${join(root, 'smoke')}`);
  });
});
