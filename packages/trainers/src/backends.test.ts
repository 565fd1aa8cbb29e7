import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeOnBackends, readSafetensors, selectBackend, testBackendUnavailable, type BackendName } from '@bmae/vit-model';
import { runPretraining } from './pretrain';
import { parsePretrainConfig } from './pretrain-config';
import { testTrainData } from './test-data';

// The same EMA-MAE pre-training (pixel warm-up, then a feature target) on TensorFlow and on native:
// a backend that computes a step differently shows here as a different loss or different weights.
// native is the reference because it is what a CPU run picks first, and it is itself checked against cpu.
const config = parsePretrainConfig({
  seed: 5,
  model: { preset: 'micro' },
  target: { kind: 'ema', warmupEpochs: 1, tau: 0.1 },
  optim: { epochs: 3, batchSize: 40, warmupEpochs: 1, blr: 1e-3 },
  log: { perEpoch: 1, progress: 'none' },
  checkpoint: { everyEpochs: 3 },
});

async function train(backend: BackendName) {
  await selectBackend({ name: backend, log: () => {} });
  const outDir = mkdtempSync(join(tmpdir(), `bmae-step-${backend}-`));
  try {
    const summary = await runPretraining({ config, data: await testTrainData(4), outDir, backend, log: () => {} });
    const model = await readSafetensors(join(outDir, 'checkpoints/epoch-0002/model.safetensors'));
    return { loss: summary.lastLoss, tensors: model.tensors };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

const reference: BackendName = testBackendUnavailable('native') ? 'cpu' : 'native';

describeOnBackends(['tfjs-node'], 'three EMA-MAE training steps', (backend) => {
  it(`give ${reference}'s loss and weights`, async () => {
    const expected = await train(reference);
    const actual = await train(backend);
    expect(actual.loss).toBeCloseTo(expected.loss, 4);
    // Adam's early updates are ~lr x sign(gradient) (lr 1.6e-4 here), so a near-zero gradient entry may
    // move either way: weights agree to a few lr, not to float32 rounding.
    for (const [name, t] of expected.tensors) {
      const other = actual.tensors.get(name)!.data;
      let worst = 0;
      for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(Number(t.data[i]) - Number(other[i])));
      if (!(worst < 2e-3)) throw new Error(`${name}: differs from ${reference} by up to ${worst}`);
    }
  });
});
