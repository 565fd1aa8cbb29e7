/**
 * Collapse monitors for feature targets. A bootstrapped target can collapse to a constant (all
 * tokens alike), which the loss alone hides since a constant is easy to predict; BYOL-style works
 * track the per-dimension std of the (normalised) outputs (Chen & He 2021, SimSiam, section 4.1)
 * and how far the target weights are from the online ones.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Mean over feature dimensions of the std over all N*L tokens; 0 means collapse.
 * @param values [N, L, K]
 */
export function meanFeatureStd(values: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => {
    const [n, l, k] = values.shape;
    const { variance } = tf.moments(tf.reshape(values, [n * l, k]), 0);
    return tf.mean(tf.sqrt(variance)) as tf.Scalar;
  });
}

/** Cosine between two parameter sets seen as one long vector each (over `a`'s names). */
export function weightCosine(a: ReadonlyMap<string, tf.Tensor>, b: ReadonlyMap<string, tf.Tensor>): tf.Scalar {
  return tf.tidy(() => {
    let dot: tf.Scalar = tf.scalar(0);
    let normA: tf.Scalar = tf.scalar(0);
    let normB: tf.Scalar = tf.scalar(0);
    for (const [name, x] of a) {
      const y = b.get(name);
      if (!y) throw new Error(`weightCosine: "${name}" is missing from the second parameter set`);
      dot = tf.add(dot, tf.sum(tf.mul(x, y)));
      normA = tf.add(normA, tf.sum(tf.square(x)));
      normB = tf.add(normB, tf.sum(tf.square(y)));
    }
    return tf.div(dot, tf.sqrt(tf.mul(normA, normB))) as tf.Scalar;
  });
}
