import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, parseBackendName, selectBackend } from './backend';

describe('selectBackend', () => {
  const savedEnv = process.env.BMAE_BACKEND;
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.BMAE_BACKEND;
    else process.env.BMAE_BACKEND = savedEnv;
  });

  it('activates a forced cpu backend and reports nothing skipped', async () => {
    const selection = await selectBackend({ name: 'cpu', log: () => {} });
    expect(selection).toEqual({ name: 'cpu', tfjsName: 'cpu', skipped: [] });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('rejects an unknown name, listing the choices', async () => {
    await expect(selectBackend({ name: 'webgpu', log: () => {} })).rejects.toThrow(
      "Unknown backend name 'webgpu': choose one of tfjs-node-gpu, tfjs-node, native, wasm, cpu",
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
    // tfjs-node needs libtensorflow downloaded at install time, which this kind of machine cannot do.
    let installed = true;
    try {
      require.resolve('@tensorflow/tfjs-node');
    } catch {
      installed = false;
    }
    if (installed) return; // nothing to assert where it is installed
    await expect(selectBackend({ name: 'tfjs-node', log: () => {} })).rejects.toThrow(
      /Backend 'tfjs-node' was requested but cannot load: Cannot find module '@tensorflow\/tfjs-node'/,
    );
  });

  it('picks the fastest backend that loads and gives a reason for each one skipped', async () => {
    delete process.env.BMAE_BACKEND;
    const lines: string[] = [];
    const selection = await selectBackend({ log: (line) => lines.push(line) });
    const order = BACKEND_NAMES.indexOf(selection.name);
    expect(selection.skipped.map((s) => s.name)).toEqual(BACKEND_NAMES.slice(0, order));
    for (const skipped of selection.skipped) expect(skipped.reason).toMatch(/\S{10,}/);
    expect(['native', 'wasm']).toContain(selection.name);
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
});
