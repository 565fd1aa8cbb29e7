/**
 * Training data for tests: a few hundred real CIFAR-10 images when env BMAE_DATA names a source
 * (stratified, the first N per class), else seeded synthetic images whose class decides a colour
 * and a stripe pattern (learnable, so a probe beats chance).
 */
import { computeChannelStats, loadCifar10, Rng, stratifiedIndices, subsetSplit, type Split } from '@bmae/data';
import type { PretrainData } from './pretrain';

export function syntheticSplit(count: number, seed: number): Split {
  const rng = Rng.fromSeed(seed);
  const images = new Uint8Array(count * 32 * 32 * 3);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const label = n % 10;
    labels[n] = label;
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const stripe = ((label < 5 ? x : y) >> 2) % 2;
        for (let c = 0; c < 3; c++) {
          const base = c === label % 3 ? 160 : 60;
          images[((n * 32 + y) * 32 + x) * 3 + c] = Math.min(255, base + 60 * stripe + rng.int(40));
        }
      }
    }
  }
  return { images, labels, count };
}

export async function testTrainData(perClass: number): Promise<PretrainData & { test: Split; real: boolean }> {
  const source = process.env.BMAE_DATA;
  if (source) {
    const data = await loadCifar10({ source });
    const train = subsetSplit(data.train, stratifiedIndices(data.train.labels, perClass, 10));
    const test = subsetSplit(data.test, stratifiedIndices(data.test.labels, Math.ceil(perClass / 2), 10));
    return { train, test, stats: { mean: data.mean, std: data.std }, source: data.source, fingerprint: data.fingerprint, real: true };
  }
  const train = syntheticSplit(perClass * 10, 1);
  return { train, test: syntheticSplit(perClass * 5, 2), stats: computeChannelStats(train.images), source: 'synthetic', fingerprint: 'synthetic', real: false };
}
