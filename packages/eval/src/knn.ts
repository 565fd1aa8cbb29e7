/**
 * Weighted k-nearest-neighbour classification on frozen features, as DINO's knn_classifier
 * (Caron et al. 2021, eval_knn.py; Wu et al. 2018): L2-normalised features, cosine similarity,
 * the k most similar training samples vote for their label with weight exp(similarity / T);
 * k = 20, T = 0.07.
 */
import * as tf from '@tensorflow/tfjs-core';
import { argmaxRows } from './metrics';

export interface KnnOptions {
  k?: number;
  temperature?: number;
  numClasses: number;
  /** test rows per similarity block (memory: chunk x N floats) */
  chunk?: number;
}

/** Rows scaled to unit L2 norm (a zero row stays zero). @param x [N, D] */
function l2Normalise(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D);
}

/**
 * @param trainFeatures [N, D] row-major
 * @param trainLabels [N]
 * @param testFeatures [M, D] row-major
 * @returns the class scores [M, numClasses] (summed vote weights) and predictions [M]
 */
export function knnClassify(
  trainFeatures: Float32Array,
  trainLabels: ArrayLike<number>,
  testFeatures: Float32Array,
  { k = 20, temperature = 0.07, numClasses, chunk = 256 }: KnnOptions,
): { scores: Float32Array; predicted: Int32Array } {
  const n = trainLabels.length;
  if (n === 0 || trainFeatures.length % n !== 0) throw new Error(`knn: ${trainFeatures.length} train feature values do not split into ${n} rows`);
  const d = trainFeatures.length / n;
  if (testFeatures.length % d !== 0) throw new Error(`knn: test features (${testFeatures.length} values) are not rows of width ${d}`);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new Error(`knn: k must be an integer in [1, ${n}], got ${k}`);
  if (!(temperature > 0)) throw new Error(`knn: temperature must be > 0, got ${temperature}`);
  const m = testFeatures.length / d;
  const scores = new Float32Array(m * numClasses);
  // [D, N]: transposed once, so each block is a plain matMul (transposed matMul is slow on wasm).
  const trainT = tf.tidy(() => tf.transpose(l2Normalise(tf.tensor2d(trainFeatures, [n, d]))));
  try {
    for (let start = 0; start < m; start += chunk) {
      const rows = Math.min(chunk, m - start);
      const { values, indices } = tf.tidy(() => {
        const block = l2Normalise(tf.tensor2d(testFeatures.subarray(start * d, (start + rows) * d), [rows, d]));
        return tf.topk(tf.matMul(block, trainT), k, true);
      });
      const sims = values.dataSync();
      const ids = indices.dataSync();
      values.dispose();
      indices.dispose();
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < k; j++) {
          const label = trainLabels[ids[r * k + j]];
          scores[(start + r) * numClasses + label] += Math.exp(sims[r * k + j] / temperature);
        }
      }
    }
  } finally {
    trainT.dispose();
  }
  return { scores, predicted: argmaxRows(scores, numClasses) };
}
