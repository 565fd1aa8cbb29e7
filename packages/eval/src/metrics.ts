/**
 * Classification metrics on host arrays: top-1 accuracy, the confusion matrix and per-class
 * accuracy. Plain numbers, no tensors: evaluation reads logits back once per split, and these
 * functions must give exactly the same answer on every backend.
 */

/**
 * Index of the largest score in each row (the first one on ties, as torch.argmax).
 * @param scores [N, C] row-major logits or similarities
 * @returns [N] predicted class ids
 */
export function argmaxRows(scores: ArrayLike<number>, numClasses: number): Int32Array {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`numClasses must be a positive integer, got ${numClasses}`);
  if (scores.length % numClasses !== 0) {
    throw new Error(`scores has ${scores.length} values, not a multiple of numClasses ${numClasses}`);
  }
  const rows = scores.length / numClasses;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestScore = scores[r * numClasses];
    for (let c = 1; c < numClasses; c++) {
      const s = scores[r * numClasses + c];
      if (s > bestScore) {
        best = c;
        bestScore = s;
      }
    }
    out[r] = best;
  }
  return out;
}

function checkPair(predicted: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (predicted.length !== labels.length) {
    throw new Error(`predicted has ${predicted.length} entries but labels has ${labels.length}`);
  }
  if (labels.length === 0) throw new Error('cannot score an empty set of predictions');
}

/** Fraction of `predicted[i] === labels[i]`, in [0, 1]. */
export function top1Accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkPair(predicted, labels);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / labels.length;
}

/**
 * Confusion matrix, `matrix[trueClass][predictedClass]` = count.
 * @throws when a label or prediction is not an integer in [0, numClasses)
 */
export function confusionMatrix(predicted: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): number[][] {
  checkPair(predicted, labels);
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i];
    const p = predicted[i];
    if (!Number.isInteger(t) || t < 0 || t >= numClasses) throw new Error(`label ${t} at index ${i} is outside [0, ${numClasses})`);
    if (!Number.isInteger(p) || p < 0 || p >= numClasses) throw new Error(`prediction ${p} at index ${i} is outside [0, ${numClasses})`);
    matrix[t][p]++;
  }
  return matrix;
}

/** Recall of each class from a confusion matrix; null for a class with no samples. */
export function perClassAccuracy(confusion: number[][]): Array<number | null> {
  return confusion.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? null : row[c] / total;
  });
}

/** Everything an evaluation reports about one split; serialisable as JSON. */
export interface ClassificationMetrics {
  /** number of scored samples */
  count: number;
  /** top-1 accuracy, fraction in [0, 1] */
  top1: number;
  /** one entry per class, in label order */
  perClass: Array<{ name: string; count: number; accuracy: number | null }>;
  /** confusion[trueClass][predictedClass] */
  confusion: number[][];
}

/** Scores predictions against labels for the given class names (label i = classNames[i]). */
export function classificationMetrics(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  classNames: readonly string[],
): ClassificationMetrics {
  const confusion = confusionMatrix(predicted, labels, classNames.length);
  const accuracies = perClassAccuracy(confusion);
  return {
    count: labels.length,
    top1: top1Accuracy(predicted, labels),
    perClass: classNames.map((name, c) => ({ name, count: confusion[c].reduce((a, b) => a + b, 0), accuracy: accuracies[c] })),
    confusion,
  };
}
