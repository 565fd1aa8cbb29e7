import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CIFAR10_CLASS_NAMES, encodeBinaryRecords, IMAGE_BYTES } from '@bmae/data';
import { runDataInspect } from './data';

describe('bmae data inspect', () => {
  const root = mkdtempSync(join(tmpdir(), 'bmae-inspect-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reports sizes, per-class counts, statistics, and the cache hit on the second run', async () => {
    // Official binary layout: 5 training batches of 10 images and a test batch of 20, labels 0..9 in turn.
    const folder = join(root, 'cifar-10-batches-bin');
    mkdirSync(folder);
    const batch = (count: number, value: number) =>
      encodeBinaryRecords(new Uint8Array(count * IMAGE_BYTES).fill(value), Uint8Array.from({ length: count }, (_, i) => i % 10));
    for (let k = 1; k <= 5; k++) writeFileSync(join(folder, `data_batch_${k}.bin`), batch(10, 51));
    writeFileSync(join(folder, 'test_batch.bin'), batch(20, 0));
    const options = { source: root, cacheDir: join(root, 'cache') };
    const lines: string[] = [];
    const first = await runDataInspect(options, (line) => lines.push(line));
    expect(first).toMatchObject({ classNames: CIFAR10_CLASS_NAMES, fromCache: false, source: `${folder} (cifar10-binary)` });
    expect(first.splits.train.count).toBe(50);
    expect(first.splits.test.perClass).toEqual(Object.fromEntries(CIFAR10_CLASS_NAMES.map((name) => [name, 2])));
    first.mean.forEach((m) => expect(m).toBeCloseTo(0.2, 12));
    expect(first.std).toEqual([0, 0, 0]);
    expect(first.cachePath.startsWith(join(root, 'cache'))).toBe(true);
    expect(lines.join('\n')).toContain('decoding');
    const second = await runDataInspect(options, () => {});
    expect(second.fromCache).toBe(true);
    expect(second.fingerprint).toBe(first.fingerprint);
  });

  it('fails with the path when the source does not exist', async () => {
    await expect(runDataInspect({ source: join(root, 'missing'), cacheDir: join(root, 'cache') }, () => {})).rejects.toThrow(
      `data source ${join(root, 'missing')} does not exist`,
    );
  });
});
