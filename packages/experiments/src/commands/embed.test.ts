import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CIFAR10_CLASS_NAMES, encodeBinaryRecords, normalizeImages, Rng } from '@bmae/data';
import {
  assignCheckpoint,
  createEncoderParams,
  disposeParams,
  forwardFeatures,
  readCheckpoint,
  readSafetensors,
  writeSafetensors,
} from '@bmae/vit-model';
import { decodeNpy } from '../npy';
import { runEmbed, type EmbedOptions } from './embed';
import { runInit } from './init';

const REPO = resolve(__dirname, '../../../..');
const quiet = () => {};

/**
 * A tiny CIFAR-10 in the official binary layout: 2 training images per batch file (labels 0..9 over the five
 * files) and 10 test images (one per class). Images are smooth colour ramps plus seeded noise.
 * @returns the folder and the test images [10, 32, 32, 3]
 */
function writeBinaryFixture(dir: string): { folder: string; testImages: Uint8Array } {
  const folder = join(dir, 'cifar-10-batches-bin');
  mkdirSync(folder);
  const rng = Rng.fromSeed(11);
  const makeImages = (count: number) => {
    const images = new Uint8Array(count * 3072);
    for (let n = 0; n < count; n++)
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++)
          for (let c = 0; c < 3; c++) {
            const ramp = (x * (c + 1) * 4 + y * (3 - c) * 3 + n * 37) % 256;
            images[((n * 32 + y) * 32 + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(ramp + rng.uniformIn(-20, 20))));
          }
    return images;
  };
  for (let k = 0; k < 5; k++) {
    writeFileSync(join(folder, `data_batch_${k + 1}.bin`), encodeBinaryRecords(makeImages(2), Uint8Array.from([2 * k, 2 * k + 1])));
  }
  const testImages = makeImages(10);
  writeFileSync(join(folder, 'test_batch.bin'), encodeBinaryRecords(testImages, Uint8Array.from({ length: 10 }, (_, i) => i)));
  writeFileSync(join(folder, 'batches.meta.txt'), CIFAR10_CLASS_NAMES.join('\n') + '\n');
  return { folder, testImages };
}

describe('bmae init / bmae embed', () => {
  let dir: string;
  let fixture: { folder: string; testImages: Uint8Array };
  let checkpoint: string;
  const embedOptions = (overrides: Partial<EmbedOptions>): EmbedOptions => ({
    checkpoint,
    source: fixture.folder,
    split: 'test',
    batch: '4',
    backend: 'cpu',
    cacheDir: join(dir, 'cache'),
    out: join(dir, 'features.npy'),
    ...overrides,
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bmae-embed-'));
    fixture = writeBinaryFixture(dir);
    checkpoint = join(dir, 'micro.safetensors');
    await runInit({ preset: 'micro', out: checkpoint, seed: '5', backend: 'cpu' }, quiet);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('init writes a seeded MAE with its preset, statistics and provenance', async () => {
    const { info, tensors } = await readCheckpoint(checkpoint);
    expect(info.preset).toBe('micro');
    expect(info.normalization).toEqual({ mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] });
    expect(info.provenance).toMatchObject({ bmaeVersion: '0.1.0', backend: 'cpu', seed: 5 });
    expect(tensors.get('patch_embed.proj.weight')!.shape).toEqual([64, 3, 4, 4]);

    const again = join(dir, 'again.safetensors');
    await runInit({ preset: 'micro', out: again, seed: '5', backend: 'cpu' }, quiet);
    const other = join(dir, 'other.safetensors');
    await runInit({ preset: 'micro', out: other, seed: '6', backend: 'cpu' }, quiet);
    const a = (await readSafetensors(checkpoint)).tensors.get('blocks.0.attn.qkv.weight')!.data;
    expect((await readSafetensors(again)).tensors.get('blocks.0.attn.qkv.weight')!.data).toEqual(a);
    expect((await readSafetensors(other)).tensors.get('blocks.0.attn.qkv.weight')!.data).not.toEqual(a);
  });

  it('init refuses a bad preset, seed or output path before building anything', async () => {
    await expect(runInit({ preset: 'huge', out: join(dir, 'x.safetensors'), seed: '0' }, quiet)).rejects.toThrow(
      "--preset 'huge' is not a model preset: choose one of deit-tiny, small, micro",
    );
    await expect(runInit({ preset: 'micro', out: join(dir, 'x.safetensors'), seed: '1.5' }, quiet)).rejects.toThrow('--seed 1.5: not an integer');
    await expect(runInit({ preset: 'micro', out: join(dir, 'no/x.safetensors'), seed: '0' }, quiet)).rejects.toThrow(
      `folder ${join(dir, 'no')} does not exist`,
    );
  });

  it('embed writes the CLS token after the final norm for the split, in source order, whatever the batch size', async () => {
    const result = await runEmbed(embedOptions({ batch: '3' }), quiet);
    expect(result).toMatchObject({ count: 10, width: 64 });
    const { data, shape } = decodeNpy(readFileSync(result.out));
    expect(shape).toEqual([10, 64]);

    // The same computation by hand on the fixture's own test images.
    const loaded = await readCheckpoint(checkpoint);
    const params = createEncoderParams(loaded.info.config.encoder, Rng.fromSeed(1));
    assignCheckpoint(loaded, params, { encoderOnly: true });
    const expected = tf.tidy(() => {
      const x = tf.tensor4d(normalizeImages(fixture.testImages, loaded.info.normalization), [10, 32, 32, 3]);
      return forwardFeatures(params, loaded.info.config.encoder, x).slice([0, 0, 0], [-1, 1, -1]).reshape([10, 64]).dataSync();
    });
    disposeParams(params);
    for (let i = 0; i < data.length; i++) expect(data[i]).toBeCloseTo(expected[i], 5);

    const limited = await runEmbed(embedOptions({ limit: '4', batch: '16', out: join(dir, 'limited.npy') }), quiet);
    const first4 = decodeNpy(readFileSync(limited.out));
    expect(first4.shape).toEqual([4, 64]);
    for (let i = 0; i < first4.data.length; i++) expect(first4.data[i]).toBeCloseTo(data[i], 5);
  });

  it('embed takes --mean/--std over the checkpoint statistics, and leaves no tensor behind', async () => {
    const before = tf.memory().numTensors;
    const result = await runEmbed(embedOptions({ mean: '0.5,0.5,0.5', std: '0.25, 0.25, 0.25', limit: '5' }), quiet);
    expect(result.normalization).toEqual({ mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('embed refuses bad options and an unlabelled checkpoint with a message naming the problem', async () => {
    await expect(runEmbed(embedOptions({ split: 'val' }), quiet)).rejects.toThrow('--split val: choose train or test');
    await expect(runEmbed(embedOptions({ limit: '0' }), quiet)).rejects.toThrow('--limit 0: must be at least 1');
    await expect(runEmbed(embedOptions({ std: '0.2,0,0.2' }), quiet)).rejects.toThrow('--std 0.2,0,0.2: every value must be positive');
    await expect(runEmbed(embedOptions({ mean: '0.5,0.5' }), quiet)).rejects.toThrow('--mean 0.5,0.5: expected three comma-separated numbers r,g,b');
    await expect(runEmbed(embedOptions({ out: join(dir, 'f.csv') }), quiet)).rejects.toThrow('the file name must end in .npy');

    const bare = join(dir, 'bare.safetensors');
    await writeSafetensors(bare, (await readSafetensors(checkpoint)).tensors, { format: 'pt' });
    await expect(runEmbed(embedOptions({ checkpoint: bare }), quiet)).rejects.toThrow(
      `${bare} has no "bmae.model" metadata (not written by bmae): name its architecture with --preset`,
    );
    const result = await runEmbed(embedOptions({ checkpoint: bare, preset: 'micro', limit: '2', out: join(dir, 'bare.npy') }), quiet);
    expect(result.normalization).toEqual({ mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] });
  });

  /** A python with torch: env BMAE_PYTHON, else python3 on PATH, else Debian's /usr/bin/python3. */
  function findTorchPython(): string | undefined {
    for (const python of [process.env.BMAE_PYTHON, 'python3', '/usr/bin/python3']) {
      if (python && spawnSync(python, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0) return python;
    }
    return undefined;
  }
  const python = findTorchPython();
  if (!python) {
    // eslint-disable-next-line no-console
    console.warn('skipping the PyTorch cross-check: no python3 with torch and numpy (set BMAE_PYTHON to one)');
  }
  (python ? it : it.skip)('matches the official MAE architecture in PyTorch both ways (cosine > 0.99999 per image)', () => {
    const output = execFileSync(
      python!,
      [join(REPO, 'tools/torch/crosscheck.py'), '--source', fixture.folder, '--preset', 'micro', '--limit', '10', '--backend', 'cpu',
        '--cache-dir', join(dir, 'cache'), '--workdir', join(dir, 'crosscheck')],
      { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } },
    );
    const report = JSON.parse(output);
    expect(report.ok).toBe(true);
    expect(report.torch_to_bmae.images).toBe(10);
    expect(report.torch_to_bmae.min_cosine).toBeGreaterThan(0.99999);
    expect(report.bmae_to_torch.min_cosine).toBeGreaterThan(0.99999);
    expect(report.bmae_to_torch.strict_load).toBe('ok');
  });
});
