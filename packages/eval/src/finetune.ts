/**
 * End-to-end fine-tuning, as MAE's main_finetune.py / engine_finetune.py (He et al. 2022): the
 * pre-trained encoder plus a new linear head (on the mean-pooled patch tokens + fc_norm by default,
 * or the CLS token), all weights trained with AdamW (betas 0.9/0.999, weight decay 0.05 except
 * biases, norms, tokens), layer-wise lr decay 0.75, lr = blr 1e-3 x batch / 256 with warm-up 5
 * epochs then half-cosine to 1e-6 per step, drop path 0.1, mixup 0.8 / cutmix 1.0 with label
 * smoothing 0.1 (soft-target cross-entropy), RandomResizedCrop(scale 0.08-1) + flip. Top-1 on the
 * test split after every epoch. Not included: MAE's RandAugment (rand-m9-mstd0.5-inc1) and random
 * erasing 0.25.
 */
import {
  batchIndices, composeTransforms, epochOrder, gatherBatch, normalizeBatch, normalizeImages, randomHorizontalFlip, randomResizedCrop, Rng,
  type ChannelStats, type Split,
} from '@bmae/data';
import { AdamW, layerDecayGroups, lrAt } from '@bmae/trainers';
import {
  assignCheckpoint, createClassifierParams, disposeParams, forwardClassifier, readCheckpoint,
  type ClassifierConfig, type EncoderConfig, type Params,
} from '@bmae/vit-model';
import * as tf from '@tensorflow/tfjs-core';
import { FINETUNE_DEFAULTS, type FinetuneOptions } from './defaults';
import { argmaxRows, top1Accuracy } from './metrics';
import { mixBatch } from './mixup';

export interface FinetuneInputs {
  /** pre-training checkpoint, or null for the random-init baseline */
  checkpoint: string | null;
  encoder: EncoderConfig;
  train: Split;
  test: Split;
  stats: ChannelStats;
  numClasses: number;
  options?: FinetuneOptions;
  log?: (line: string) => void;
  onEpoch?: (entry: FinetuneEpoch) => void;
}

/** One fine-tuning epoch as onEpoch reports it (top1 is a fraction). */
export interface FinetuneEpoch {
  epoch: number;
  trainLoss: number;
  lr: number;
  top1: number;
}

/** The progress line for an epoch, e.g. "finetune epoch 2/3: loss 1.9 lr 2.5e-4 test top-1 35.10%". */
export function describeFinetuneEpoch({ epoch, trainLoss, lr, top1 }: FinetuneEpoch, epochs: number): string {
  return `finetune epoch ${epoch + 1}/${epochs}: loss ${trainLoss.toFixed(4)} lr ${lr.toExponential(2)} test top-1 ${(100 * top1).toFixed(2)}%`;
}

export interface FinetuneResult {
  predicted: Int32Array;
  top1: number;
  history: FinetuneEpoch[];
  settings: Required<FinetuneOptions> & { lr: number };
  /** the fine-tuned classifier; the caller disposes it (disposeParams) */
  params: Params;
}

/** Test-split predictions of a classifier, in batches. */
export function predictClassifier(params: Params, encoder: EncoderConfig, classifier: ClassifierConfig, split: Split, stats: ChannelStats, batchSize = 256): Int32Array {
  const predicted = new Int32Array(split.count);
  for (let start = 0; start < split.count; start += batchSize) {
    const rows = Math.min(batchSize, split.count - start);
    const pixels = normalizeImages(split.images, stats, Array.from({ length: rows }, (_, i) => start + i));
    const logits = tf.tidy(() => forwardClassifier(params, encoder, classifier, tf.tensor4d(pixels, [rows, encoder.imageSize, encoder.imageSize, encoder.channels])));
    predicted.set(argmaxRows(logits.dataSync(), classifier.numClasses), start);
    logits.dispose();
  }
  return predicted;
}

export async function runFinetune(inputs: FinetuneInputs): Promise<FinetuneResult> {
  const o: Required<FinetuneOptions> = { ...FINETUNE_DEFAULTS, ...inputs.options };
  const { encoder, train, test, stats, numClasses } = inputs;
  const log = inputs.log ?? (() => {});
  const steps = Math.floor(train.count / o.batchSize);
  if (steps < 1) throw new Error(`fine-tune: batch size ${o.batchSize} is larger than the ${train.count} training images`);
  const lr = (o.blr * o.batchSize) / 256;
  const schedule = { lr, minLr: o.minLr, warmupEpochs: Math.min(o.warmupEpochs, o.epochs - 1), epochs: o.epochs };
  const classifier: ClassifierConfig = { numClasses, globalPool: o.globalPool, dropPathRate: o.dropPath };
  const root = Rng.fromSeed(o.seed);

  const params = createClassifierParams(encoder, classifier, root.fork('init'));
  if (inputs.checkpoint !== null) {
    const file = await readCheckpoint(inputs.checkpoint);
    // With global pooling the classifier has fc_norm instead of the encoder's final norm: MAE's
    // fine-tuning drops norm.* from the checkpoint (load_state_dict strict=False) and so do we.
    const tensors = o.globalPool ? new Map([...file.tensors].filter(([name]) => !name.startsWith('norm.'))) : file.tensors;
    const report = assignCheckpoint({ ...file, tensors }, params, { encoderOnly: true });
    log(`fine-tune: loaded ${report.loaded.length} encoder tensors from ${inputs.checkpoint}; new: ${report.kept.join(', ')}`);
  }
  const trainable = new Map([...params].filter(([, v]) => v.trainable));
  const trainableList = [...trainable.values()];
  const nameOf = new Map([...trainable].map(([name, v]) => [v.name, name]));
  const optimizer = new AdamW(trainable, layerDecayGroups(trainable, { weightDecay: o.weightDecay, layerDecay: o.layerDecay, depth: encoder.depth }), {
    beta1: 0.9,
    beta2: 0.999,
  });
  const augment = composeTransforms(randomResizedCrop({ scale: [0.08, 1] }), randomHorizontalFlip(0.5), normalizeBatch(stats));
  const history: FinetuneResult['history'] = [];
  let predicted: Int32Array = new Int32Array(0);
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const batches = batchIndices(epochOrder(train.count, root.fork(`order-${epoch}`)), o.batchSize, { dropLast: true });
      const augmentRng = root.fork(`augment-${epoch}`);
      const mixRng = root.fork(`mix-${epoch}`);
      const dropRng = root.fork(`drop-path-${epoch}`);
      let lossSum = 0;
      let lastLr = 0;
      batches.forEach((indices, i) => {
        lastLr = lrAt(epoch + i / steps, schedule);
        const batch = augment(gatherBatch(train, indices), augmentRng);
        const { targets } = mixBatch(batch.pixels, batch.labels, batch, mixRng, {
          mixupAlpha: o.mixup, cutmixAlpha: o.cutmix, labelSmoothing: o.labelSmoothing, numClasses,
        });
        const loss = tf.tidy(() => {
          const images = tf.tensor4d(batch.pixels, [batch.count, batch.height, batch.width, 3]);
          const soft = tf.tensor2d(targets, [batch.count, numClasses]);
          const { value, grads } = tf.variableGrads((): tf.Scalar => {
            const logits = forwardClassifier(params, encoder, classifier, images, { rng: dropRng });
            // timm SoftTargetCrossEntropy: mean over the batch of -sum(target * log_softmax)
            return tf.mean(tf.neg(tf.sum(tf.mul(soft, tf.logSoftmax(logits)), -1))) as tf.Scalar;
          }, trainableList);
          optimizer.applyGradients(new Map(Object.entries(grads).map(([v, g]) => [nameOf.get(v)!, g])), lastLr);
          return value;
        });
        const value = loss.dataSync()[0];
        loss.dispose();
        if (!Number.isFinite(value)) throw new Error(`fine-tune loss is ${value} at epoch ${epoch}, step ${i}`);
        lossSum += value;
      });
      predicted = predictClassifier(params, encoder, classifier, test, stats);
      const entry = { epoch, trainLoss: lossSum / batches.length, lr: lastLr, top1: top1Accuracy(predicted, test.labels) };
      history.push(entry);
      inputs.onEpoch?.(entry);
    }
  } catch (error) {
    disposeParams(params);
    throw error;
  } finally {
    optimizer.dispose();
  }
  return { predicted, top1: history[history.length - 1].top1, history, settings: { ...o, lr }, params };
}
