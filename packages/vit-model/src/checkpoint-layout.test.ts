import { fromPytorchLayout, pytorchShape, toPytorchLayout } from './checkpoint-layout';
import type { HostTensor } from './safetensors';

const ramp = (shape: number[]): HostTensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from({ length: n }, (_, i) => i + 1) };
};

describe('PyTorch layout conversion', () => {
  const patch = { patchSize: 2, inChannels: 3 };

  it('transposes Linear weights [in, out] -> [out, in]', () => {
    const w = toPytorchLayout('blocks.0.attn.qkv.weight', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }, patch);
    expect(w.shape).toEqual([3, 2]);
    expect(Array.from(w.data)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('keeps biases, LayerNorm parameters, tokens and position embeddings as they are', () => {
    for (const [name, shape] of [
      ['blocks.0.norm1.weight', [4]],
      ['blocks.0.attn.qkv.bias', [12]],
      ['cls_token', [1, 1, 4]],
      ['pos_embed', [1, 5, 4]],
      ['patch_embed.proj.bias', [4]],
    ] as Array<[string, number[]]>) {
      const t = ramp(shape);
      const converted = toPytorchLayout(name, t, patch);
      expect(converted.shape).toEqual(shape);
      expect(converted.data).toBe(t.data);
      expect(pytorchShape(name, shape, patch)).toEqual(shape);
    }
  });

  it('maps the patch embedding so that the linear map equals the conv on a patch', () => {
    const P = 2;
    const C = 3;
    const D = 5;
    const tfjs = { shape: [P * P * C, D], data: Float32Array.from({ length: P * P * C * D }, (_, i) => Math.sin(i) * 3) };
    const torch = toPytorchLayout('patch_embed.proj.weight', tfjs, patch);
    expect(torch.shape).toEqual([D, C, P, P]);
    expect(pytorchShape('patch_embed.proj.weight', tfjs.shape, patch)).toEqual([D, C, P, P]);

    // One patch, NHWC: x[p][q][c]; the bmae patch vector is x flattened in (p, q, c) order.
    const x = Float32Array.from({ length: P * P * C }, (_, i) => Math.cos(i * 1.7));
    for (let d = 0; d < D; d++) {
      let linear = 0;
      for (let k = 0; k < P * P * C; k++) linear += x[k] * tfjs.data[k * D + d];
      let conv = 0;
      for (let c = 0; c < C; c++)
        for (let p = 0; p < P; p++)
          for (let q = 0; q < P; q++) conv += x[(p * P + q) * C + c] * torch.data[((d * C + c) * P + p) * P + q];
      expect(conv).toBeCloseTo(linear, 10);
    }
  });

  it('round-trips every kind exactly', () => {
    for (const [name, shape] of [
      ['patch_embed.proj.weight', [12, 7]],
      ['decoder_pred.weight', [9, 12]],
      ['head.weight', [4, 10]],
      ['norm.bias', [4]],
    ] as Array<[string, number[]]>) {
      const t = ramp(shape);
      const back = fromPytorchLayout(name, toPytorchLayout(name, t, patch));
      expect(back.shape).toEqual(shape);
      expect(Array.from(back.data)).toEqual(Array.from(t.data));
    }
  });

  it('refuses a patch embedding that does not fit the patch geometry, naming it', () => {
    expect(() => pytorchShape('patch_embed.proj.weight', [48, 192], patch)).toThrow(
      'patch_embed.proj.weight: expected a bmae shape [12, D] for patch size 2 and 3 channels, got [48, 192]',
    );
    expect(() => fromPytorchLayout('patch_embed.proj.weight', ramp([192, 48]))).toThrow(
      'patch_embed.proj.weight: expected a PyTorch conv weight [D, C, P, P], got [192, 48]',
    );
  });
});
