/**
 * Benchmark (not a test): augmented images per second of the MAE pre-training pipeline
 * (RandomResizedCrop(32, scale (0.2, 1)) -> horizontal flip -> normalise) on one core, fused
 * (`pretrainAugmentation` after `gatherBatch`, `pretrainSampler` from uint8) and stage by stage.
 *
 *   npx tsx tools/bench/augment.ts [--source S] [--batch 256] [--seconds 5]
 *
 * Uses the cached CIFAR-10 when a source is given (or BMAE_DATA is set), else random images.
 * Target: >= 20,000 img/s.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  batchIndices, composeTransforms, epochOrder, gatherBatch, IMAGE_BYTES, loadCifar10, normalizeBatch, pretrainAugmentation,
  pretrainSampler, randomHorizontalFlip, randomResizedCrop, Rng, type BatchSampler, type BatchTransform, type ChannelStats, type Split,
} from '@bmae/data';

const withTransform = (sample: BatchSampler, transform: BatchTransform): BatchSampler => (split, indices, rng) =>
  transform(sample(split, indices, rng), rng);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { source: { type: 'string' }, batch: { type: 'string', default: '256' }, seconds: { type: 'string', default: '5' } } });
  const batchSize = Number(values.batch);
  const seconds = Number(values.seconds);
  let split: Split;
  let stats: ChannelStats;
  if (values.source || process.env.BMAE_DATA) {
    const data = await loadCifar10({ source: values.source });
    split = data.train;
    stats = { mean: data.mean, std: data.std };
    console.log(`data: ${data.source}, ${split.count} training images (from cache: ${data.fromCache})`);
  } else {
    const rng = Rng.fromSeed(0);
    const images = new Uint8Array(10000 * IMAGE_BYTES).map(() => rng.int(256));
    split = { images, labels: new Uint8Array(10000), count: 10000 };
    stats = { mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] };
    console.log('data: 10,000 random images (pass --source or set BMAE_DATA for CIFAR-10)');
  }

  const gather: BatchSampler = (images, indices) => gatherBatch(images, indices);
  const stages: [string, BatchSampler][] = [
    ['gather only', gather],
    ['gather + crop', withTransform(gather, randomResizedCrop())],
    ['gather + flip', withTransform(gather, randomHorizontalFlip())],
    ['gather + normalise', withTransform(gather, normalizeBatch(stats))],
    ['composed pipeline', withTransform(gather, composeTransforms(randomResizedCrop(), randomHorizontalFlip(), normalizeBatch(stats)))],
    ['gather + pretrainAugmentation', withTransform(gather, pretrainAugmentation(stats))],
    ['pretrainSampler', pretrainSampler(stats)],
  ];
  const rng = Rng.fromSeed(1).fork('augment');
  const results: Record<string, number> = {};
  for (const [name, sample] of stages) {
    let images = 0;
    let epoch = 0;
    let checksum = 0;
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    while (performance.now() - started < seconds * 1000) {
      for (const batch of batchIndices(epochOrder(split.count, rng.fork(`epoch-${epoch++}`)), batchSize, { dropLast: true })) {
        const out = sample(split, batch, rng);
        checksum += out.pixels[0]; // keeps the work observable
        images += batch.length;
        if (performance.now() - started >= seconds * 1000) break;
      }
    }
    const wall = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStarted);
    // Per CPU-second as well as per wall-second: on a shared machine the wall rate understates one core.
    const perCpuSecond = images / ((cpu.user + cpu.system) / 1e6);
    results[name] = Math.round(perCpuSecond);
    const format = (rate: number) => Math.round(rate).toLocaleString('en-US').padStart(9);
    console.log(`${name.padEnd(30)} ${format(perCpuSecond)} img/CPU-s ${format(images / wall)} img/s wall  (checksum ${checksum.toFixed(1)})`);
  }
  console.log(JSON.stringify({ batchSize, imagesPerCpuSecond: results }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
