import { argmaxRows, classificationMetrics, confusionMatrix, perClassAccuracy, top1Accuracy } from './metrics';

describe('argmaxRows', () => {
  it('picks the largest score per row, the first on ties', () => {
    const scores = [0.1, 0.7, 0.2, /**/ 5, 5, 1, /**/ -3, -2, -1];
    expect(Array.from(argmaxRows(scores, 3))).toEqual([1, 0, 2]);
  });
  it('refuses a score array that is not whole rows', () => {
    expect(() => argmaxRows([1, 2, 3, 4], 3)).toThrow('scores has 4 values, not a multiple of numClasses 3');
  });
});

describe('accuracy and confusion', () => {
  const labels = [0, 0, 1, 1, 1, 2, 2, 2];
  const predicted = [0, 1, 1, 1, 2, 2, 0, 2];

  it('top-1 is the fraction of exact matches', () => {
    expect(top1Accuracy(predicted, labels)).toBe(5 / 8);
  });

  it('confusion rows are true classes, columns predictions', () => {
    expect(confusionMatrix(predicted, labels, 3)).toEqual([
      [1, 1, 0],
      [0, 2, 1],
      [1, 0, 2],
    ]);
  });

  it('per-class accuracy is the recall of each row; null for an empty class', () => {
    expect(perClassAccuracy(confusionMatrix(predicted, labels, 4))).toEqual([0.5, 2 / 3, 2 / 3, null]);
  });

  it('classificationMetrics bundles them with class names', () => {
    const m = classificationMetrics(predicted, labels, ['cat', 'dog', 'ship']);
    expect(m.count).toBe(8);
    expect(m.top1).toBe(0.625);
    expect(m.perClass).toEqual([
      { name: 'cat', count: 2, accuracy: 0.5 },
      { name: 'dog', count: 3, accuracy: 2 / 3 },
      { name: 'ship', count: 3, accuracy: 2 / 3 },
    ]);
  });

  it('refuses mismatched lengths, empty sets and out-of-range ids', () => {
    expect(() => top1Accuracy([1, 2], [1])).toThrow('predicted has 2 entries but labels has 1');
    expect(() => top1Accuracy([], [])).toThrow('empty');
    expect(() => confusionMatrix([0, 3], [0, 1], 3)).toThrow('prediction 3 at index 1 is outside [0, 3)');
    expect(() => confusionMatrix([0, 1], [0, -1], 3)).toThrow('label -1 at index 1 is outside [0, 3)');
  });
});
