/**
 * Every evaluation command checks its input files before any long work: a corrupt or mismatched
 * checkpoint, or a missing data source, is refused before the data is decoded (the decode cache
 * folder is never created) or a model built; a locked --out folder is refused too.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockRunFolder } from '@bmae/trainers';
import { encodeSafetensors, maeConfig, METADATA_KEYS } from '@bmae/vit-model';
import { runFinetuneCommand, type FinetuneCommandOptions } from './finetune';
import { runKnnCommand, type KnnCommandOptions } from './knn';
import { runLinprobeCommand, type LinprobeCommandOptions } from './linprobe';
import { writeTinyCifar } from './test-fixtures';

const quiet = () => {};

describe('input checks before long work (knn, linprobe, finetune)', () => {
  let dir: string;
  let source: string;
  let cacheDir: string;
  let corrupt: string;
  let misfit: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bmae-input-checks-'));
    source = writeTinyCifar(dir, 8);
    cacheDir = join(dir, 'cache');
    corrupt = join(dir, 'corrupt.safetensors');
    writeFileSync(corrupt, Buffer.from('this is not a safetensors file, only text of some length'));
    // A bmae header naming the micro MAE, but holding one tensor of another width.
    misfit = join(dir, 'misfit.safetensors');
    const metadata = { [METADATA_KEYS.model]: JSON.stringify({ preset: 'micro', config: maeConfig('micro') }) };
    writeFileSync(misfit, encodeSafetensors(new Map([['cls_token', { shape: [1, 1, 3], data: new Float32Array(3) }]]), metadata));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const frozen = (checkpoint: string, out: string) => ({ checkpoint, source, cacheDir, out, pool: 'cls', batch: '16', seed: '0', backend: 'wasm' });
  const knn = (checkpoint: string, out = join(dir, 'knn')) => runKnnCommand({ ...frozen(checkpoint, out), k: '5', temperature: '0.07' } as KnnCommandOptions, quiet);
  const linprobe = (checkpoint: string, out = join(dir, 'lp')) =>
    runLinprobeCommand({ ...frozen(checkpoint, out), epochs: '2', probeBatch: '16', lr: '0.1', warmupEpochs: '0' } as LinprobeCommandOptions, quiet);
  const finetune = (checkpoint: string, out = join(dir, 'ft')) =>
    runFinetuneCommand({
      ...frozen(checkpoint, out), pool: 'mean', epochs: '1', batch: '20', blr: '1e-3', warmupEpochs: '0', layerDecay: '0.75', weightDecay: '0.05',
      dropPath: '0.1', mixup: '0', cutmix: '0', smoothing: '0.1',
    } as FinetuneCommandOptions, quiet);
  const commands = { knn, linprobe, finetune };

  it.each(Object.keys(commands) as Array<keyof typeof commands>)('%s refuses a corrupt or mismatched checkpoint before loading any data', async (name) => {
    const run = commands[name];
    await expect(run(corrupt)).rejects.toThrow(`${corrupt}: header length`);
    await expect(run(misfit)).rejects.toThrow(`${misfit} does not fit the model encoder: missing tensor "patch_embed.proj.weight"`);
    await expect(run(misfit)).rejects.toThrow('tensor "cls_token" has shape [1, 1, 3], expected [1, 1, 64]');
    await expect(run(join(dir, 'absent.safetensors'))).rejects.toThrow(`cannot read safetensors file ${join(dir, 'absent.safetensors')}`);
    // The data was never reached: loading it would have created the decode cache folder.
    expect(existsSync(cacheDir)).toBe(false);
  });

  it('refuses a data source that does not exist before building anything', async () => {
    await expect(runKnnCommand({ ...frozen('', join(dir, 'knn-src')), checkpoint: undefined, randomInit: true, preset: 'micro', source: join(dir, 'nowhere'), k: '5', temperature: '0.07' } as KnnCommandOptions, quiet)).rejects.toThrow(
      `data source ${join(dir, 'nowhere')} does not exist`,
    );
    expect(existsSync(cacheDir)).toBe(false);
  });

  it('refuses an --out folder another process writes, naming it and the holder', async () => {
    const out = join(dir, 'busy');
    const lock = await lockRunFolder(out, 'knn', quiet);
    try {
      await expect(runKnnCommand({ ...frozen('', out), checkpoint: undefined, randomInit: true, preset: 'micro', k: '5', temperature: '0.07' } as KnnCommandOptions, quiet)).rejects.toThrow(
        `${out} is being written by another process: pid ${process.pid} on host ${hostname()} (knn`,
      );
    } finally {
      await lock.release();
    }
    expect(existsSync(cacheDir)).toBe(false);
  });
});
