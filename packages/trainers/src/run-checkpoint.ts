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
import { readCheckpoint, readSafetensors, saveCheckpoint, writeSafetensors, type CheckpointInfo, type HostTensor } from '@bmae/vit-model';
import * as tf from '@tensorflow/tfjs-core';
import writeFileAtomic from 'write-file-atomic';
import type { AdamWState } from './adamw';

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

export function epochDirName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, '0')}`;
}

async function toHost(tensors: ReadonlyMap<string, tf.Tensor>): Promise<Map<string, HostTensor>> {
  const out = new Map<string, HostTensor>();
  for (const [name, t] of tensors) out.set(name, { shape: [...t.shape], data: (await t.data()) as Float32Array });
  return out;
}

/**
 * Writes checkpoints/epoch-NNNN (model + train state) and points latest.json at it.
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
): Promise<string> {
  const root = join(outDir, 'checkpoints');
  const name = epochDirName(parts.state.epoch);
  const temp = join(root, `.${name}.tmp`);
  const final = join(root, name);
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp, { recursive: true });
  await saveCheckpoint(join(temp, 'model.safetensors'), parts.params, parts.info);
  const stateTensors = new Map([...(await toHost(parts.moments)), ...(await toHost(parts.targetWeights))]);
  await writeSafetensors(join(temp, 'train-state.safetensors'), stateTensors, { [TRAIN_STATE_KEY]: JSON.stringify(parts.state) });
  rmSync(final, { recursive: true, force: true });
  renameSync(temp, final);
  const previous = readLatest(outDir);
  const pointer: LatestPointer = { epoch: parts.state.epoch, globalStep: parts.state.globalStep, dir: join('checkpoints', name) };
  writeFileAtomic.sync(join(outDir, 'latest.json'), `${JSON.stringify(pointer, null, 2)}\n`);
  if (previous && !previous.keep && previous.pointer.dir !== pointer.dir) rmSync(join(outDir, previous.pointer.dir), { recursive: true, force: true });
  // Remember whether the new folder is a keeper, so the next save knows whether to delete it.
  writeFileAtomic.sync(join(final, 'keep.json'), JSON.stringify({ keep: parts.keep }));
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
