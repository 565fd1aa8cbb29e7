import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsLog, readMetrics } from './metrics-log';

describe('metrics.jsonl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bmae-metrics-'));

  it('appends one JSON object per line', () => {
    const file = join(dir, 'a.jsonl');
    const log = new MetricsLog(file);
    log.write({ step: 0, loss: 1.5 });
    log.write({ step: 5, loss: 1.2 });
    expect(readFileSync(file, 'utf8')).toBe('{"step":0,"loss":1.5}\n{"step":5,"loss":1.2}\n');
  });

  it('a resumed log drops the records after the checkpoint step and a torn last line', () => {
    const file = join(dir, 'b.jsonl');
    const log = new MetricsLog(file);
    [0, 10, 20, 30].forEach((step) => log.write({ step }));
    appendFileSync(file, '{"step": 4');
    expect(readMetrics(file).map((r) => r.step)).toEqual([0, 10, 20, 30]);
    const resumed = new MetricsLog(file, 20);
    resumed.write({ step: 21 });
    expect(readMetrics(file).map((r) => r.step)).toEqual([0, 10, 20, 21]);
  });

  it('a new log replaces an old file; corruption mid-file is reported with its line', () => {
    const file = join(dir, 'c.jsonl');
    new MetricsLog(file).write({ step: 1 });
    new MetricsLog(file);
    expect(readMetrics(file)).toEqual([]);
    appendFileSync(file, 'garbage\n{"step":2}\n');
    expect(() => readMetrics(file)).toThrow(`${file}: line 1 is not JSON`);
  });
});
