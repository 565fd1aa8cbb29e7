/**
 * A kNN learning curve during pre-training (as solo-learn's online monitors, but with no trained
 * head): every few epochs, the weighted kNN top-1 (knn.ts) of the online encoder's frozen CLS
 * features on fixed small train/test subsets. A few thousand forward passes: seconds per point.
 */
import type { ChannelStats, Split } from '@bmae/data';
import type { EpochMonitor } from '@bmae/trainers';
import type { EncoderConfig } from '@bmae/vit-model';
import { extractFeatures } from './features';
import { knnClassify } from './knn';

export interface KnnMonitorOptions {
  encoder: EncoderConfig;
  /** the labelled images the neighbours come from, and the images classified */
  train: Split;
  test: Split;
  stats: ChannelStats;
  numClasses: number;
  everyEpochs: number;
  k: number;
  temperature: number;
}

/** @returns a monitor measuring `{ knnTop1 }` (fraction of `test` classified correctly) */
export function knnMonitor(options: KnnMonitorOptions): EpochMonitor {
  const { encoder, train, test, stats, numClasses, k, temperature } = options;
  return {
    everyEpochs: options.everyEpochs,
    measure(params) {
      const trainSet = extractFeatures(params, encoder, train, stats);
      const testSet = extractFeatures(params, encoder, test, stats);
      const { predicted } = knnClassify(trainSet.features, trainSet.labels, testSet.features, { k, temperature, numClasses });
      let correct = 0;
      predicted.forEach((label, i) => (correct += label === testSet.labels[i] ? 1 : 0));
      return { knnTop1: correct / testSet.count };
    },
  };
}
