/**
 * Integration test on the real data: runs only when BMAE_DATA points at CIFAR-10 (CI sets it to the
 * shared cifar10-jpeg.tar.gz). Decodes once into a temporary cache (~30 s), then reads the cache.
 */
import { CIFAR10_CLASS_NAMES, countPerClass } from './cifar10';
import { loadCifar10 } from './load-cifar10';
import { removeTemporaryFolders, temporaryFolder } from './test-fixtures';

const source = process.env.BMAE_DATA;
const describeReal = source ? describe : describe.skip;

describeReal(`CIFAR-10 from BMAE_DATA=${source}`, () => {
  afterAll(removeTemporaryFolders);

  it('has 50,000 / 10,000 images, 5,000 / 1,000 per class, the known training mean, and a fast cache hit', async () => {
    const cacheDir = temporaryFolder('real-cache');
    const data = await loadCifar10({ source, cacheDir });
    expect(data.classNames).toEqual(CIFAR10_CLASS_NAMES);
    expect(data.train.count).toBe(50000);
    expect(data.test.count).toBe(10000);
    expect(countPerClass(data.train.labels, 10)).toEqual(new Array(10).fill(5000));
    expect(countPerClass(data.test.labels, 10)).toEqual(new Array(10).fill(1000));
    [0.4914, 0.4822, 0.4465].forEach((m, c) => expect(Math.abs(data.mean[c] - m)).toBeLessThan(0.01));
    [0.247, 0.2435, 0.2616].forEach((s, c) => expect(Math.abs(data.std[c] - s)).toBeLessThan(0.01));

    const started = performance.now();
    const again = await loadCifar10({ source, cacheDir });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(again.fromCache).toBe(true);
    expect(again.fingerprint).toBe(data.fingerprint);
    expect(Buffer.from(again.train.images).equals(Buffer.from(data.train.images))).toBe(true);
  }, 300_000);
});
