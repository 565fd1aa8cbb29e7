/**
 * What the end-to-end tests share: a temporary copy of the workspace (node_modules linked) and a
 * synthetic CIFAR-10 small enough for the smoke profile.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CIFAR10_CLASS_NAMES, encodeBinaryRecords, IMAGE_BYTES, Rng } from '@bmae/data';

export const REPO = resolve(__dirname, '..');

/** The work tree's files (tracked and new, not ignored), node_modules linked, not copied. */
export function copyWorkspace(to: string): void {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    if (!existsSync(join(REPO, file))) continue; // deleted in the work tree
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(REPO, file), join(to, file));
  }
  symlinkSync(join(REPO, 'node_modules'), join(to, 'node_modules'));
  for (const pkg of ['data', 'vit-model', 'targets', 'trainers', 'eval', 'experiments', 'tfjs-backend-native']) {
    const modules = join(REPO, 'packages', pkg, 'node_modules');
    if (existsSync(modules)) symlinkSync(modules, join(to, 'packages', pkg, 'node_modules'));
  }
  const addon = join(REPO, 'packages', 'tfjs-backend-native', 'build');
  if (existsSync(addon)) symlinkSync(addon, join(to, 'packages', 'tfjs-backend-native', 'build'));
}

/** 50 training images per batch file (labels cycle), 100 test images: class = a colour level plus noise. */
export function writeSyntheticCifar(dir: string): string {
  const folder = join(dir, 'cifar-10-batches-bin');
  mkdirSync(folder, { recursive: true });
  const rng = Rng.fromSeed(7);
  const make = (count: number) => {
    const images = new Uint8Array(count * IMAGE_BYTES);
    const labels = Uint8Array.from({ length: count }, (_, n) => n % 10);
    for (let n = 0; n < count; n++) for (let i = 0; i < IMAGE_BYTES; i++) images[n * IMAGE_BYTES + i] = (labels[n] * 20 + ((i >> 5) % 3) * 30 + rng.int(50)) % 256;
    return encodeBinaryRecords(images, labels);
  };
  for (let k = 1; k <= 5; k++) writeFileSync(join(folder, `data_batch_${k}.bin`), make(50));
  writeFileSync(join(folder, 'test_batch.bin'), make(100));
  writeFileSync(join(folder, 'batches.meta.txt'), `${CIFAR10_CLASS_NAMES.join('\n')}\n`);
  return folder;
}

/** The environment of an Nx run inside a test: nothing from an Nx run that may be running the test. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('NX_') && key !== 'BMAE_RUNS_DIR'));
}
