/**
 * `bmae linprobe`: MAE's linear probe on a frozen encoder: features extracted once (cached in
 * --out), then BatchNorm without affine + a linear head trained with LARS (lr 6.4 = MAE's blr 0.1 x
 * 16384 / 256, no weight decay, warm-up 10 then cosine, 90 epochs). Writes <out>/linprobe.json.
 */
import type { Command } from 'commander';
import { classificationMetrics, EVAL_RECORD_SCHEMA, LINPROBE_DEFAULTS, MAE_LINPROBE_LR, prepareFrozenEval, trainLinearProbe, writeEvalRecord, type EvalRecord } from '@bmae/eval';
import { selectBackend } from '@bmae/vit-model';
import { join } from 'node:path';
import { parseInteger } from '../cli-options';
import { parsePositive } from '../cli-options';
import { withRunLock } from '@bmae/trainers';
import { checkFrozenInputs, frozenEncoderOptions, parseFrozenOptions, type EvaluationCommandOptions } from './knn';

export interface LinprobeCommandOptions extends EvaluationCommandOptions {
  epochs: string;
  probeBatch: string;
  lr: string;
  warmupEpochs: string;
}

export async function runLinprobeCommand(options: LinprobeCommandOptions, log: (line: string) => void = (l) => console.error(l)): Promise<EvalRecord> {
  const frozen = parseFrozenOptions(options);
  const epochs = parseInteger(options.epochs, '--epochs', 1);
  const batchSize = parseInteger(options.probeBatch, '--probe-batch', 1);
  const lr = parsePositive(options.lr, '--lr');
  const warmupEpochs = parseInteger(options.warmupEpochs, '--warmup-epochs', 0);
  await checkFrozenInputs(frozen);
  return withRunLock(frozen.outDir, 'linprobe', async () => {
    const backend = await selectBackend({ name: options.backend, log });
    const started = performance.now();
    const inputs = await prepareFrozenEval({ ...frozen, log });
    const result = trainLinearProbe(inputs.train, inputs.test, {
      numClasses: inputs.classNames.length,
      epochs,
      batchSize,
      lr,
      warmupEpochs,
      seed: frozen.seed,
      onEpoch: ({ epoch, trainLoss, top1 }) => {
        if ((epoch + 1) % 10 === 0 || epoch === epochs - 1) log(`linprobe epoch ${epoch + 1}/${epochs}: loss ${trainLoss.toFixed(4)} test top-1 ${(100 * top1).toFixed(2)}%`);
      },
    });
    const record: EvalRecord = {
      schema: EVAL_RECORD_SCHEMA,
      protocol: 'linprobe',
      encoder: { checkpoint: frozen.checkpoint, preset: inputs.preset },
      data: inputs.data,
      metrics: classificationMetrics(result.predicted, inputs.test.labels, inputs.classNames),
      history: result.history,
      settings: { ...result.settings, pool: frozen.pool, trainPerClass: frozen.trainPerClass ?? null, testPerClass: frozen.testPerClass ?? null },
      backend: backend.name,
      seed: frozen.seed,
      seconds: (performance.now() - started) / 1000,
      createdAt: new Date().toISOString(),
    };
    writeEvalRecord(join(frozen.outDir, 'linprobe.json'), record);
    log(`linear probe top-1 ${(100 * record.metrics.top1).toFixed(2)}% -> ${join(frozen.outDir, 'linprobe.json')}`);
    return record;
  }, log);
}

export function register(program: Command): void {
  frozenEncoderOptions(program.command('linprobe').description("MAE's linear probe (BatchNorm without affine + linear head, LARS) on a frozen encoder"))
    .option('--epochs <n>', 'probe epochs', String(LINPROBE_DEFAULTS.epochs))
    .option('--probe-batch <n>', 'probe batch size', String(LINPROBE_DEFAULTS.batchSize))
    .option('--lr <lr>', `LARS lr (MAE: blr 0.1 x 16384 / 256 = ${MAE_LINPROBE_LR})`, String(MAE_LINPROBE_LR))
    .option('--warmup-epochs <n>', 'linear warm-up epochs before the cosine decay', String(LINPROBE_DEFAULTS.warmupEpochs))
    .action(async (options: LinprobeCommandOptions) => {
      const record = await runLinprobeCommand(options);
      console.log(JSON.stringify({ protocol: 'linprobe', top1: record.metrics.top1, out: options.out }));
    });
}
