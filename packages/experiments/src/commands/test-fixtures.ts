/** A tiny CIFAR-10 in the official binary layout for command tests (seeded noise images). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR10_CLASS_NAMES, encodeBinaryRecords, Rng } from '@bmae/data';
import { runPretrainCommand } from './pretrain';

/**
 * @param perFile training images per data_batch file (labels cycle 0..9)
 * @returns the cifar-10-batches-bin folder
 */
export function writeTinyCifar(dir: string, perFile: number, testCount = 20): string {
  const folder = join(dir, 'cifar-10-batches-bin');
  mkdirSync(folder, { recursive: true });
  const rng = Rng.fromSeed(5);
  const make = (count: number, offset: number) => {
    const images = new Uint8Array(count * 3072);
    const labels = new Uint8Array(count);
    for (let n = 0; n < count; n++) {
      labels[n] = (offset + n) % 10;
      for (let i = 0; i < 3072; i++) images[n * 3072 + i] = (labels[n] * 25 + rng.int(60)) % 256;
    }
    return encodeBinaryRecords(images, labels);
  };
  for (let k = 0; k < 5; k++) writeFileSync(join(folder, `data_batch_${k + 1}.bin`), make(perFile, k * perFile));
  writeFileSync(join(folder, 'test_batch.bin'), make(testCount, 0));
  writeFileSync(join(folder, 'batches.meta.txt'), `${CIFAR10_CLASS_NAMES.join('\n')}\n`);
  return folder;
}

/**
 * A tiny CIFAR-10 (8 images per training file) and a micro MAE pre-trained on it for one epoch on
 * wasm, for tests of the commands that evaluate a checkpoint.
 * @returns the data source, the decode cache folder and the checkpoint file, all under `dir`
 */
export async function writeTinyPretrainedCheckpoint(dir: string): Promise<{ source: string; cacheDir: string; checkpoint: string }> {
  const source = writeTinyCifar(dir, 8);
  const cacheDir = join(dir, 'cache');
  await runPretrainCommand(
    { set: ['model.preset=micro', 'optim.epochs=1', 'optim.batchSize=20', 'log.progress=none'], out: join(dir, 'run'), source, cacheDir, backend: 'wasm' },
    () => {},
  );
  return { source, cacheDir, checkpoint: join(dir, 'run/checkpoints/epoch-0000/model.safetensors') };
}
