/**
 * A pre-training run's checkpoints, for exact resume:
 *   <out>/checkpoints/epoch-NNNN/model.safetensors        the MAE, PyTorch names and layout (vit-model checkpoint)
 *   <out>/checkpoints/epoch-NNNN/train-state.safetensors  optimiser moments + target encoders (bmae layout)
 *                                                         + JSON metadata: epoch, step, optimiser and target state
 *   <out>/latest.json                                     which epoch folder is the newest complete one
 * A folder is written under a temporary name and renamed when complete, then latest.json is replaced
 * atomically: a crash at any moment leaves the previous checkpoint usable. Data order, augmentation and
 * masking draw from Rng streams forked per epoch from the run seed, so an epoch boundary needs no Rng
 * state beyond the seed (kept in the config).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TargetState } from '@bmae/targets';
import {
  encodeCheckpoint, encodeSafetensors, readCheckpoint, readCheckpointHeader, readSafetensors, readSafetensorsHeader,
  type CheckpointInfo, type HostTensor,
} from '@bmae/vit-model';
import * as tf from '@tensorflow/tfjs-core';
import writeFileAtomic from 'write-file-atomic';
import type { AdamWState } from './adamw';
import type { PretrainConfig } from './pretrain-config';

export const TRAIN_STATE_KEY = 'bmae.train-state';

/** Everything besides tensors that a resumed run needs. */
export interface TrainState {
  /** the last completed epoch (0-based) */
  epoch: number;
  /** optimiser steps taken so far */
  globalStep: number;
  optimizer: AdamWState;
  target: TargetState;
  /** the resolved config of the run, compared on resume */
  configJson: string;
}

export interface LatestPointer {
  epoch: number;
  globalStep: number;
  /** folder relative to the run folder */
  dir: string;
}

/**
 * How checkpoint files reach the disk: atomically (a temporary file, then a rename). Injectable so
 * tests can make a write fail (ENOSPC) at a chosen file.
 */
export type WriteFile = (path: string, data: Uint8Array | string) => Promise<void>;

export const writeFileAtomically: WriteFile = (path, data) =>
  writeFileAtomic(path, typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));

/** The part of a run's config that must match on resume (the data's path may change, its content may not). */
export function resumableConfig(config: PretrainConfig): PretrainConfig {
  return { ...config, data: { ...config.data, source: undefined } };
}

export function epochDirName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, '0')}`;
}

async function toHost(tensors: ReadonlyMap<string, tf.Tensor>): Promise<Map<string, HostTensor>> {
  const out = new Map<string, HostTensor>();
  for (const [name, t] of tensors) out.set(name, { shape: [...t.shape], data: (await t.data()) as Float32Array });
  return out;
}

/**
 * Writes checkpoints/epoch-NNNN (model + train state) and points latest.json at it. Until
 * latest.json is replaced, nothing the run had is touched: a failed write (a full disk) leaves the
 * previous checkpoint and latest.json as they were, removes the half-written folder, and throws
 * naming the file, so `--resume` continues from the last good epoch.
 * @param keep when false, the previous latest folder is deleted once the new one is complete
 *   (folders at checkpoint.everyEpochs multiples are kept)
 */
export async function saveRunCheckpoint(
  outDir: string,
  parts: {
    params: ReadonlyMap<string, tf.Tensor>;
    info: CheckpointInfo;
    moments: ReadonlyMap<string, tf.Tensor>;
    targetWeights: ReadonlyMap<string, tf.Tensor>;
    state: TrainState;
    keep: boolean;
  },
  writeFile: WriteFile = writeFileAtomically,
): Promise<string> {
  const root = join(outDir, 'checkpoints');
  const name = epochDirName(parts.state.epoch);
  const temp = join(root, `.${name}.tmp`);
  const final = join(root, name);
  const previous = readLatest(outDir);
  const write = async (file: string, data: Uint8Array | string) => {
    try {
      await writeFile(file, data);
    } catch (error) {
      rmSync(temp, { recursive: true, force: true }); // free the space the partial folder took
      const last = previous
        ? `the last good checkpoint is ${join(outDir, previous.pointer.dir)} (latest.json, epoch ${previous.pointer.epoch}): continue from it with --resume`
        : 'no checkpoint was written before: start the run again';
      throw new Error(`cannot write checkpoint file ${file}: ${(error as Error).message}; ${last}`);
    }
  };
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp, { recursive: true });
  await write(join(temp, 'model.safetensors'), await encodeCheckpoint(parts.params, parts.info, join(final, 'model.safetensors')));
  const stateTensors = new Map([...(await toHost(parts.moments)), ...(await toHost(parts.targetWeights))]);
  await write(join(temp, 'train-state.safetensors'), encodeSafetensors(stateTensors, { [TRAIN_STATE_KEY]: JSON.stringify(parts.state) }, join(final, 'train-state.safetensors')));
  // Whether the folder is a keeper, so the next save knows whether to delete it: inside the folder before it is complete.
  await write(join(temp, 'keep.json'), JSON.stringify({ keep: parts.keep }));
  rmSync(final, { recursive: true, force: true });
  renameSync(temp, final);
  const pointer: LatestPointer = { epoch: parts.state.epoch, globalStep: parts.state.globalStep, dir: join('checkpoints', name) };
  await write(join(outDir, 'latest.json'), `${JSON.stringify(pointer, null, 2)}\n`);
  if (previous && !previous.keep && previous.pointer.dir !== pointer.dir) rmSync(join(outDir, previous.pointer.dir), { recursive: true, force: true });
  return final;
}

function readLatest(outDir: string): { pointer: LatestPointer; keep: boolean } | null {
  const file = join(outDir, 'latest.json');
  if (!existsSync(file)) return null;
  let pointer: LatestPointer;
  try {
    pointer = JSON.parse(readFileSync(file, 'utf8')) as LatestPointer;
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${(error as Error).message}): delete it to start over`);
  }
  if (typeof pointer?.dir !== 'string' || !Number.isInteger(pointer.epoch) || !Number.isInteger(pointer.globalStep)) {
    throw new Error(`${file}: expected {"epoch", "globalStep", "dir"}, got ${JSON.stringify(pointer)}`);
  }
  const keepFile = join(outDir, pointer.dir, 'keep.json');
  const keep = existsSync(keepFile) ? (JSON.parse(readFileSync(keepFile, 'utf8')) as { keep: boolean }).keep : true;
  return { pointer, keep };
}

export interface LoadedRunCheckpoint {
  dir: string;
  state: TrainState;
  /** the model checkpoint, to assign with assignCheckpoint */
  model: Awaited<ReturnType<typeof readCheckpoint>>;
  /** optimiser moments and target weights, as tensors the caller disposes */
  tensors: Map<string, tf.Tensor>;
}

/** Reads the checkpoint latest.json points at; errors say which file is missing or bad. */
export async function loadLatestRunCheckpoint(outDir: string): Promise<LoadedRunCheckpoint> {
  const latest = readLatest(outDir);
  if (!latest) throw new Error(`cannot resume: ${join(outDir, 'latest.json')} does not exist (no checkpoint was written in ${outDir})`);
  const dir = join(outDir, latest.pointer.dir);
  const model = await readCheckpoint(join(dir, 'model.safetensors'));
  const statePath = join(dir, 'train-state.safetensors');
  const { tensors, metadata } = await readSafetensors(statePath);
  const text = metadata[TRAIN_STATE_KEY];
  if (text === undefined) throw new Error(`${statePath} has no "${TRAIN_STATE_KEY}" metadata: not a bmae training state`);
  const state = JSON.parse(text) as TrainState;
  const live = new Map([...tensors].map(([name, { shape, data }]) => [name, tf.tensor(data, shape, 'float32')]));
  return { dir, state, model, tensors: live };
}

/**
 * What can be checked of a run folder before any data is loaded or model built: a new run must not
 * overwrite one; a resumed run needs latest.json, the two checkpoint files it points at (headers
 * only) and the same config. Errors name the file and what is wrong.
 */
export async function checkRunFolder(outDir: string, config: PretrainConfig, resume: boolean): Promise<void> {
  if (!resume) {
    if (existsSync(join(outDir, 'latest.json'))) throw new Error(`${outDir} already holds a run (latest.json): continue it with --resume, or choose another --out`);
    return;
  }
  const latest = readLatest(outDir);
  if (!latest) throw new Error(`cannot resume: ${join(outDir, 'latest.json')} does not exist (no checkpoint was written in ${outDir})`);
  const dir = join(outDir, latest.pointer.dir);
  await readCheckpointHeader(join(dir, 'model.safetensors'));
  const statePath = join(dir, 'train-state.safetensors');
  const text = (await readSafetensorsHeader(statePath)).metadata[TRAIN_STATE_KEY];
  if (text === undefined) throw new Error(`${statePath} has no "${TRAIN_STATE_KEY}" metadata: not a bmae training state`);
  let saved: unknown;
  try {
    saved = (JSON.parse(JSON.parse(text).configJson) as { config?: unknown }).config;
  } catch (error) {
    throw new Error(`${statePath}: metadata "${TRAIN_STATE_KEY}" has no readable config (${(error as Error).message})`);
  }
  const differences = differingKeys(saved, JSON.parse(JSON.stringify(resumableConfig(config))));
  if (differences.length > 0) {
    throw new Error(`cannot resume ${outDir}: the config differs from the one the run started with (${differences.slice(0, 5).join(', ')}; see ${join(outDir, 'config.json')})`);
  }
}

/** Dotted keys whose values differ between two JSON values, e.g. ["optim.epochs"]. */
function differingKeys(a: unknown, b: unknown, prefix = ''): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].flatMap((key) => differingKeys(a[key], b[key], prefix ? `${prefix}.${key}` : key));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${prefix || '(root)'}: ${JSON.stringify(a)} then, ${JSON.stringify(b)} now`];
}
