import { appendFileSync, copyFileSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR10_CLASS_NAMES, type Split } from './cifar10';
import { RECORD_BYTES } from './binary-format';
import { loadCifar10, type LoadCifar10Options } from './load-cifar10';
import { removeTemporaryFolders, temporaryFolder, writeBinaryFolder, writeImageFolder, writePng, writeTar } from './test-fixtures';

const load = (source: string, cacheDir: string, extra: Partial<LoadCifar10Options> = {}) =>
  loadCifar10({ source, cacheDir, env: {}, ...extra });

afterAll(removeTemporaryFolders);

function expectSameSplit(actual: Split, expected: Split): void {
  expect(actual.count).toBe(expected.count);
  expect(Buffer.from(actual.labels).equals(Buffer.from(expected.labels))).toBe(true);
  expect(Buffer.from(actual.images).equals(Buffer.from(expected.images))).toBe(true);
}

describe('loadCifar10 on the official binary format', () => {
  const root = temporaryFolder('binary');
  const expected = writeBinaryFolder(root);
  const archive = join(root, 'cifar-10-binary.tar.gz');
  beforeAll(() => writeTar(root, ['cifar-10-batches-bin'], archive));

  it.each([
    ['the .tar.gz archive', () => archive],
    ['the extracted folder', () => expected.folder],
    ['the folder above cifar-10-batches-bin/', () => root],
  ])('reads %s to the exact pixels and labels, NHWC', async (_, source) => {
    const data = await load(source(), temporaryFolder('cache'));
    expect(data.classNames).toEqual(CIFAR10_CLASS_NAMES);
    expectSameSplit(data.train, expected.train);
    expectSameSplit(data.test, expected.test);
    expect(data.fromCache).toBe(false);
    expect(data.source).toContain('(cifar10-binary)');
  });

  it('gives the archive and the folder the same fingerprint (it is the decoded data)', async () => {
    const a = await load(archive, temporaryFolder('cache'));
    const b = await load(expected.folder, temporaryFolder('cache'));
    expect(a.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.cachePath).not.toBe(b.cachePath);
  });

  it('serves a second load from the cache with identical arrays and statistics', async () => {
    const cacheDir = temporaryFolder('cache');
    const first = await load(archive, cacheDir);
    const second = await load(archive, cacheDir);
    expect(second.fromCache).toBe(true);
    expect(second.cachePath).toBe(first.cachePath);
    expectSameSplit(second.train, first.train);
    expectSameSplit(second.test, first.test);
    expect(second.mean).toEqual(first.mean);
    expect(second.std).toEqual(first.std);
    expect(second.fingerprint).toBe(first.fingerprint);
    expect(second.source).toBe(`${archive} (cifar10-binary)`);
    expect(JSON.parse(readFileSync(join(cacheDir, 'source-hashes.json'), 'utf8'))[archive].sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keys the cache on content: a copy of the archive elsewhere is a cache hit', async () => {
    const cacheDir = temporaryFolder('cache');
    const first = await load(archive, cacheDir);
    const copy = join(temporaryFolder('copy'), 'renamed.tar.gz');
    copyFileSync(archive, copy);
    const second = await load(copy, cacheDir);
    expect(second.fromCache).toBe(true);
    expect(second.cachePath).toBe(first.cachePath);
    expect(second.source).toBe(`${copy} (cifar10-binary)`);
  });

  it('decodes again, saying so, when a cache file has flipped bytes (same length)', async () => {
    const cacheDir = temporaryFolder('cache');
    const first = await load(archive, cacheDir);
    const file = join(first.cachePath, 'test.u8');
    const bytes = readFileSync(file);
    bytes[1234] ^= 0xff;
    writeFileSync(file, bytes);
    const messages: string[] = [];
    const second = await load(archive, cacheDir, { log: (m) => messages.push(m) });
    expect(second.fromCache).toBe(false);
    expect(messages.join('\n')).toContain(`do not match the fingerprint in ${join(first.cachePath, 'meta.json')}: corrupted on disk, rebuilding`);
    expect(Buffer.from(second.test.images).equals(Buffer.from(first.test.images))).toBe(true);
    expect((await load(archive, cacheDir)).fromCache).toBe(true); // rebuilt: a hit again
  });

  it('decodes again when a cache file is damaged', async () => {
    const cacheDir = temporaryFolder('cache');
    const first = await load(archive, cacheDir);
    truncateSync(join(first.cachePath, 'train.u8'), 100);
    const messages: string[] = [];
    const second = await load(archive, cacheDir, { log: (m) => messages.push(m) });
    expect(second.fromCache).toBe(false);
    expect(messages.join('\n')).toMatch(/train\.u8 has 100 bytes/);
    expectSameSplit(second.train, expected.train);
  });

  it('computes the training mean/std in [0, 1] scale', async () => {
    const data = await load(archive, temporaryFolder('cache'));
    const sums = [0, 0, 0];
    expected.train.images.forEach((v, i) => (sums[i % 3] += v / 255));
    const pixels = expected.train.images.length / 3;
    data.mean.forEach((m, c) => expect(m).toBeCloseTo(sums[c] / pixels, 12));
  });
});

describe('loadCifar10 on image folders', () => {
  const root = temporaryFolder('images');
  const tree = join(root, 'cifar10-png');
  let expected: { train: Split; test: Split };
  beforeAll(async () => {
    expected = await writeImageFolder(tree, CIFAR10_CLASS_NAMES, { train: 2, test: 1 });
    await writeTar(root, ['cifar10-png'], join(root, 'with-top-folder.tar.gz'));
    await writeTar(tree, ['train', 'test'], join(root, 'flat.tar'));
  });

  it.each([
    ['a folder', () => tree],
    ['a .tar.gz with a top-level folder', () => join(root, 'with-top-folder.tar.gz')],
    ['a .tar without one', () => join(root, 'flat.tar')],
  ])('reads %s in CIFAR-10 label order, files sorted, exact pixels', async (_, source) => {
    const data = await load(source(), temporaryFolder('cache'));
    expect(data.classNames).toEqual(CIFAR10_CLASS_NAMES);
    expectSameSplit(data.train, expected.train);
    expectSameSplit(data.test, expected.test);
    expect(data.source).toContain('(image-folder)');
  });

  it('sorts class names that are not the CIFAR-10 classes', async () => {
    const other = join(root, 'other');
    const names = ['apple', 'banana', 'cherry'];
    const written = await writeImageFolder(other, names, { train: 2, test: 2 });
    const data = await load(other, temporaryFolder('cache'));
    expect(data.classNames).toEqual(names);
    expectSameSplit(data.train, written.train);
  });
});

describe('loadCifar10 rejects bad input with a message naming the file', () => {
  const root = temporaryFolder('bad');
  const cache = temporaryFolder('cache');

  /** A fresh copy of a valid binary folder, modified by `damage`. */
  function damagedBinary(name: string, damage: (folder: string) => void): string {
    const { folder } = writeBinaryFolder(join(root, name));
    damage(folder);
    return folder;
  }

  it('a truncated archive', async () => {
    const base = join(root, 'truncated');
    writeBinaryFolder(base);
    const archive = await writeTar(base, ['cifar-10-batches-bin'], join(base, 'full.tar.gz'));
    const bytes = readFileSync(archive);
    const cut = join(base, 'cut.tar.gz');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await expect(load(cut, cache)).rejects.toThrow(`${cut}: corrupt or truncated archive`);
    const plain = await writeTar(base, ['cifar-10-batches-bin'], join(base, 'full.tar'));
    const cutPlain = join(base, 'cut.tar');
    writeFileSync(cutPlain, readFileSync(plain).subarray(0, 100_000));
    await expect(load(cutPlain, cache)).rejects.toThrow(`${cutPlain}: corrupt or truncated archive`);
  });

  it('a file that is not an archive at all', async () => {
    const junk = join(root, 'junk.tar.gz');
    writeFileSync(junk, Buffer.alloc(5000, 7));
    await expect(load(junk, cache)).rejects.toThrow(junk);
  });

  it('a wrong record length', async () => {
    const folder = damagedBinary('length', (f) => appendFileSync(join(f, 'data_batch_3.bin'), Buffer.from([1, 2])));
    await expect(load(folder, cache)).rejects.toThrow(
      `${folder}/data_batch_3.bin: ${4 * RECORD_BYTES + 2} bytes is not a whole, non-zero number of 3073-byte CIFAR-10 records`,
    );
  });

  it('a label out of range', async () => {
    const folder = damagedBinary('label', (f) => {
      const bytes = readFileSync(join(f, 'test_batch.bin'));
      bytes[2 * RECORD_BYTES] = 10;
      writeFileSync(join(f, 'test_batch.bin'), bytes);
    });
    await expect(load(folder, cache)).rejects.toThrow(`${folder}/test_batch.bin: record 2 has label 10, out of range 0..9`);
  });

  it('a missing split', async () => {
    const folder = damagedBinary('missing', (f) => rmSync(join(f, 'test_batch.bin')));
    await expect(load(folder, cache)).rejects.toThrow(`${folder}: missing test_batch.bin (test split)`);
    const images = join(root, 'no-test');
    await writeImageFolder(images, ['a', 'b'], { train: 1, test: 1 });
    rmSync(join(images, 'test'), { recursive: true });
    await expect(load(images, cache)).rejects.toThrow(`${images}: missing split 'test/' (found split folders: train)`);
  });

  it('an image that is not 32x32 RGB', async () => {
    const images = join(root, 'small');
    await writeImageFolder(images, ['a', 'b'], { train: 1, test: 1 });
    const bad = join(images, 'train', 'b', '0007.png');
    await writePng(bad, new Uint8Array(16 * 16 * 3), 16, 16);
    await expect(load(images, cache)).rejects.toThrow(`${bad}: image is 16x16 with 3 channel(s); expected 32x32 RGB (3 channels)`);
    await writePng(bad, new Uint8Array(32 * 32 * 4), 32, 32, 4);
    await expect(load(images, cache)).rejects.toThrow(`${bad}: image is 32x32 with 4 channel(s)`);
  });

  it('a corrupt image file', async () => {
    const images = join(root, 'corrupt');
    await writeImageFolder(images, ['a', 'b'], { train: 1, test: 1 });
    const bad = join(images, 'test', 'a', '0000.png');
    const bytes = readFileSync(bad);
    writeFileSync(bad, bytes.subarray(0, 60));
    await expect(load(images, cache)).rejects.toThrow(`${bad}: cannot decode image`);
  });

  it('an empty class folder, in a folder and in an archive', async () => {
    const images = join(root, 'empty-class');
    await writeImageFolder(images, ['a', 'b'], { train: 1, test: 1 });
    mkdirSync(join(images, 'train', 'c'));
    await expect(load(images, cache)).rejects.toThrow(`${images}: empty class folder train/c/`);
    const archive = await writeTar(root, ['empty-class'], join(root, 'empty-class.tar.gz'));
    await expect(load(archive, cache)).rejects.toThrow(`${archive}: empty class folder empty-class/train/c/`);
  });

  it('a missing source, and a file that is not an archive', async () => {
    await expect(load(join(root, 'nope.tar.gz'), cache)).rejects.toThrow(`data source ${join(root, 'nope.tar.gz')} does not exist`);
    const text = join(root, 'notes.txt');
    writeFileSync(text, 'hello');
    await expect(load(text, cache)).rejects.toThrow(`data source ${text} is a file but not a .tar, .tar.gz or .tgz archive`);
  });

  it('an archive with neither format inside', async () => {
    const base = join(root, 'neither');
    mkdirSync(join(base, 'stuff'), { recursive: true });
    writeFileSync(join(base, 'stuff', 'a.txt'), 'x');
    const archive = await writeTar(base, ['stuff'], join(base, 'stuff.tar.gz'));
    await expect(load(archive, cache)).rejects.toThrow(`${archive}: neither CIFAR-10 binary batches`);
  });
});
