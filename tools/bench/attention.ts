/**
 * Benchmark (not a test): the attention core (softmax(q k^T dh^-0.5) v, forward + backward through
 * vit-model's selfAttention) with native's fused kernels and with the composite they replace, on the
 * shapes of the presets' blocks (deit-tiny batch 64, small batch 128; 25% of 64 patches + cls = 17
 * tokens in the encoder, 65 in the decoder).
 *
 *   npx tsx tools/bench/attention.ts [--repeats 11]
 *
 * The two alternate in one process (the fused kernels unregistered for the composite's turn) and each
 * keeps its best time: on a shared machine the least disturbed run is the closest to its cost.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs'; // gradients of the composite
import { FUSED_KERNEL_NAMES, selectBackend, selfAttention } from '@bmae/vit-model';

// [name, batch, tokens, heads, head width, blocks of this shape per step]
const SHAPES = [
  ['deit-tiny encoder', 64, 17, 3, 64, 12],
  ['deit-tiny decoder', 64, 65, 4, 32, 4],
  ['small encoder', 128, 17, 4, 32, 6],
  ['small decoder', 128, 65, 4, 16, 2],
] as const;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { repeats: { type: 'string', default: '11' } } });
  const repeats = Number(values.repeats);
  await selectBackend({ name: 'native', log: () => {} });
  const configs = [FUSED_KERNEL_NAMES.attention, FUSED_KERNEL_NAMES.attentionGrad].map((name) => tf.getKernel(name, 'native'));
  if (configs.some((c) => c === undefined)) throw new Error('native registers no fused attention kernels');
  const useFused = (on: boolean) => {
    for (const c of configs as tf.KernelConfig[]) {
      const registered = tf.getKernel(c.kernelName, 'native') !== undefined;
      if (on && !registered) tf.registerKernel(c);
      if (!on && registered) tf.unregisterKernel(c.kernelName, 'native');
    }
  };
  console.log(`attention forward + backward on native, BMAE_THREADS=${process.env.BMAE_THREADS ?? '(all cores)'}, best of ${repeats}`);
  for (const [name, n, t, heads, dh, blocks] of SHAPES) {
    const qkv = tf.randomNormal([n, t, 3 * heads * dh], 0, 1, 'float32', 1) as tf.Tensor3D;
    const dy = tf.randomNormal([n, t, heads * dh], 0, 1, 'float32', 2);
    const run = () => tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(selfAttention(x as tf.Tensor3D, heads), dy)))(qkv).dataSync()[0]);
    const best = { fused: Infinity, composite: Infinity };
    for (let r = 0; r <= repeats; r++) {
      for (const fused of [true, false]) {
        useFused(fused);
        const t0 = performance.now();
        run();
        const ms = performance.now() - t0;
        if (r > 0) best[fused ? 'fused' : 'composite'] = Math.min(best[fused ? 'fused' : 'composite'], ms); // round 0 warms up
      }
    }
    useFused(true);
    console.log(
      `${name.padEnd(18)} [${n}, ${t}, ${heads} x ${dh}]: fused ${best.fused.toFixed(2)} ms, composite ${best.composite.toFixed(2)} ms ` +
        `(${(best.composite / best.fused).toFixed(2)}x); x ${blocks} blocks = ${(best.fused * blocks).toFixed(0)} vs ${(best.composite * blocks).toFixed(0)} ms per step`,
    );
    tf.dispose([qkv, dy]);
  }
}

main();
