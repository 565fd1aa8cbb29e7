import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from './backend';
import { patchify, unpatchify } from './patchify';

describe('patchify / unpatchify', () => {
  beforeAll(() => selectBackend({ name: 'cpu', log: () => {} }));

  it('flattens each patch in (p, q, c) order, patches row-major', () => {
    // 1 image 4x4x2, patch 2: value = ((y * 4) + x) * 2 + c
    const img = tf.tensor4d(Array.from({ length: 32 }, (_, i) => i), [1, 4, 4, 2]);
    const patches = patchify(img, 2);
    expect(patches.shape).toEqual([1, 4, 8]);
    const v = (y: number, x: number, c: number) => (y * 4 + x) * 2 + c;
    // patch 1 = top-right: rows 0-1, columns 2-3
    expect(Array.from(patches.dataSync().slice(8, 16))).toEqual([v(0, 2, 0), v(0, 2, 1), v(0, 3, 0), v(0, 3, 1), v(1, 2, 0), v(1, 2, 1), v(1, 3, 0), v(1, 3, 1)]);
    // patch 2 = bottom-left
    expect(patches.dataSync()[16]).toBe(v(2, 0, 0));
    tf.dispose([img, patches]);
  });

  it('round-trips CIFAR-sized batches exactly', () => {
    const imgs = tf.randomUniform([3, 32, 32, 3]) as tf.Tensor4D;
    const patches = patchify(imgs, 4);
    expect(patches.shape).toEqual([3, 64, 48]);
    const back = unpatchify(patches, 4, 3);
    expect(Array.from(back.dataSync())).toEqual(Array.from(imgs.dataSync()));
    tf.dispose([imgs, patches, back]);
  });

  it('names the problem with a wrong shape', () => {
    const bad = tf.zeros([1, 30, 30, 3]) as tf.Tensor4D;
    expect(() => patchify(bad, 4)).toThrow('side divisible by 4, got [1,30,30,3]');
    const badPatches = tf.zeros([1, 60, 48]) as tf.Tensor3D;
    expect(() => unpatchify(badPatches, 4, 3)).toThrow('expected [N, side^2, 48] patches, got [1,60,48]');
    tf.dispose([bad, badPatches]);
  });
});
