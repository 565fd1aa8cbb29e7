import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classificationMetrics } from './metrics';
import { EVAL_RECORD_SCHEMA, readEvalRecord, writeEvalRecord, type EvalRecord } from './records';

function sampleRecord(): EvalRecord {
  return {
    schema: EVAL_RECORD_SCHEMA,
    protocol: 'knn',
    encoder: { checkpoint: 'runs/ema/checkpoint.safetensors', preset: 'micro' },
    data: { source: 'folder:/data/cifar', fingerprint: 'abc123', trainCount: 4, testCount: 3 },
    metrics: classificationMetrics([0, 1, 1], [0, 1, 0], ['a', 'b']),
    history: [{ epoch: 0, trainLoss: 1.5, lr: 0.1, top1: 0.5 }],
    settings: { k: 20, temperature: 0.07 },
    backend: 'cpu',
    seed: 0,
    seconds: 1.25,
    createdAt: '2026-11-26T20:00:00.000Z',
  };
}

describe('eval records', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bmae-eval-'));

  it('round-trips through JSON exactly and leaves no temp file', () => {
    const file = join(dir, 'knn.json');
    writeEvalRecord(file, sampleRecord());
    expect(readEvalRecord(file)).toEqual(sampleRecord());
    expect(readdirSync(dir)).toEqual(['knn.json']);
  });

  it('refuses to write an invalid record, naming the key', () => {
    const bad = { ...sampleRecord(), protocol: 'svm' } as unknown as EvalRecord;
    expect(() => writeEvalRecord(join(dir, 'bad.json'), bad)).toThrow(/refusing to write invalid eval record .*bad\.json: protocol:/);
  });

  it('names the file and the key when reading a bad record', () => {
    const file = join(dir, 'edited.json');
    writeFileSync(file, JSON.stringify({ ...sampleRecord(), seconds: -1, extra: 1 }));
    expect(() => readEvalRecord(file)).toThrow(/invalid eval record .*edited\.json: .*Unrecognized key: "extra"/);
    expect(() => readEvalRecord(file)).toThrow(/seconds: Too small/);
    writeFileSync(file, '{not json');
    expect(() => readEvalRecord(file)).toThrow(/cannot read eval record .*edited\.json/);
  });
});
