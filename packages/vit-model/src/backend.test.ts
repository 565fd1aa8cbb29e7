import * as tf from '@tensorflow/tfjs-core';
import { availableParallelism } from 'node:os';
import { BACKEND_NAMES, listBackends, parseBackendName, selectBackend } from './backend';
import { cpuModel } from './device';
import { locateTfjsNode } from './tensorflow-probe';

describe('selectBackend', () => {
  const savedEnv = process.env.BMAE_BACKEND;
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.BMAE_BACKEND;
    else process.env.BMAE_BACKEND = savedEnv;
  });

  it('activates a forced cpu backend and reports nothing skipped', async () => {
    const selection = await selectBackend({ name: 'cpu', log: () => {} });
    expect(selection).toEqual({ name: 'cpu', tfjsName: 'cpu', device: { kind: 'cpu', name: cpuModel(), cores: availableParallelism(), threads: 1 }, skipped: [] });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('rejects an unknown name, listing the choices', async () => {
    await expect(selectBackend({ name: 'webgpu', log: () => {} })).rejects.toThrow(
      "Unknown backend name 'webgpu': choose one of tfjs-node-gpu, native, tfjs-node, wasm, cpu",
    );
    process.env.BMAE_BACKEND = 'gpu';
    await expect(selectBackend({ log: () => {} })).rejects.toThrow("Unknown BMAE_BACKEND value 'gpu'");
  });

  it('honours BMAE_BACKEND', async () => {
    process.env.BMAE_BACKEND = 'wasm';
    const selection = await selectBackend({ log: () => {} });
    expect(selection.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('fails loudly when a forced backend cannot load', async () => {
    // tfjs-node-gpu's binding is only built by `bmae setup tensorflow --gpu`; where it is, there is nothing to assert.
    if (locateTfjsNode('@tensorflow/tfjs-node-gpu')?.bindingBuilt) return;
    await expect(selectBackend({ name: 'tfjs-node-gpu', log: () => {} })).rejects.toThrow(
      /Backend 'tfjs-node-gpu' was requested but cannot load: @tensorflow\/tfjs-node-gpu( is not installed|'s binding is not built .*: run npx bmae setup tensorflow --gpu)/,
    );
  });

  it('picks the fastest backend that loads and gives a reason for each one skipped', async () => {
    delete process.env.BMAE_BACKEND;
    const lines: string[] = [];
    const selection = await selectBackend({ log: (line) => lines.push(line) });
    const order = BACKEND_NAMES.indexOf(selection.name);
    expect(selection.skipped.map((s) => s.name)).toEqual(BACKEND_NAMES.slice(0, order));
    for (const skipped of selection.skipped) expect(skipped.reason).toMatch(/\S{10,}/);
    // Never tfjs-node where native loads (native is faster on a CPU), never tfjs-node-gpu without a GPU.
    expect(['native', 'tfjs-node', 'wasm']).toContain(selection.name);
    if (selection.name === 'tfjs-node') expect(selection.skipped.find((s) => s.name === 'native')).toBeDefined();
    expect(selection.device.kind).toBe('cpu');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`backend: ${selection.name}`);
    // printed once: the same result again is silent
    await selectBackend({ log: (line) => lines.push(line) });
    expect(lines).toHaveLength(1);
    await selectBackend({ name: 'cpu', log: () => {} });
  });

  it('parseBackendName accepts every listed name', () => {
    for (const name of BACKEND_NAMES) expect(parseBackendName(name)).toBe(name);
  });

  it('listBackends gives every backend in order, a reason for each that does not load, and the auto choice', async () => {
    const { backends, auto } = await listBackends();
    expect(backends.map((b) => b.name)).toEqual([...BACKEND_NAMES]);
    for (const b of backends) {
      if (b.loads) expect(b.device?.name).toMatch(/\S/);
      else expect(b.reason).toMatch(/\S{10,}/);
    }
    expect(auto).toBe(backends.find((b) => b.loads)!.name);
    const native = backends.find((b) => b.name === 'native')!;
    if (native.loads) expect(native.device?.blas).toMatch(/BLAS/);
    const tfjsNode = backends.find((b) => b.name === 'tfjs-node')!;
    if (tfjsNode.loads) expect(tfjsNode.device?.tensorflow).toBe('2.21.0');
    expect(tf.getBackend()).toBe('cpu');
  });
});
