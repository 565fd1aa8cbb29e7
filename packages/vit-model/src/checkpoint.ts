/**
 * Model checkpoints as .safetensors files that PyTorch users open directly: tensors carry the official MAE /
 * timm names in PyTorch's layout (checkpoint-layout.ts), so `model.load_state_dict(load_file(path))` works on
 * the official MaskedAutoencoderViT; bmae's own facts travel in the file's `__metadata__` as JSON strings:
 *
 *   format              "pt" (what Hugging Face tools expect of a PyTorch state dict)
 *   bmae.model          {"preset": "deit-tiny" | null, "config": MaeConfig}
 *   bmae.normalization  {"mean": [r, g, b], "std": [r, g, b]}, the statistics the model was trained with
 *   bmae.provenance     {"bmaeVersion", "backend", "seed", "createdAt", "command"}
 *
 * A checkpoint written by PyTorch has no bmae metadata: the caller names a preset, the prediction heads are
 * read off the file's decoder_pred* tensors, and the statistics default to CIFAR-10's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { fromPytorchLayout, pytorchShape, toPytorchLayout, type PatchGeometry } from './checkpoint-layout';
import { maeConfig, PIXELS_HEAD, PRESET_NAMES, validateMaeConfig, type MaeConfig, type PresetName } from './config';
import { encoderParamShapes } from './params';
import { encodeSafetensors, readSafetensors, readSafetensorsHeader, type HostTensor } from './safetensors';
import writeFileAtomic from 'write-file-atomic';

/** Per-channel (RGB) statistics of pixel values scaled to [0, 1]: x_normalised = (x - mean) / std. */
export interface Normalization {
  mean: [number, number, number];
  std: [number, number, number];
}

/** CIFAR-10 training-set statistics (the commonly used values), for checkpoints that do not carry theirs. */
export const CIFAR10_NORMALIZATION: Normalization = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };

/** Where a checkpoint came from. */
export interface Provenance {
  bmaeVersion: string;
  /** The tfjs backend the weights were computed on. */
  backend: string;
  /** The run's seed (null when not seeded by bmae, e.g. converted weights). */
  seed: number | null;
  /** ISO 8601 time of writing. */
  createdAt: string;
  /** The command line that wrote the file. */
  command: string;
}

/** What a checkpoint says about its model, besides the weights. */
export interface CheckpointInfo {
  /** The preset the config came from (null for a custom config). */
  preset: PresetName | null;
  config: MaeConfig;
  normalization: Normalization;
  /** Absent for checkpoints written outside bmae. */
  provenance?: Provenance;
}

export const METADATA_KEYS = {
  model: 'bmae.model',
  normalization: 'bmae.normalization',
  provenance: 'bmae.provenance',
} as const;

// ---- metadata schemas: a typo or a missing field in a file is reported by key, not met later as NaN ----

const positiveInt = z.number().int().positive();
const modelSchema = z
  .object({
    preset: z.enum(PRESET_NAMES as [PresetName, ...PresetName[]]).nullable(),
    config: z
      .object({
        encoder: z
          .object({
            imageSize: positiveInt,
            patchSize: positiveInt,
            channels: positiveInt,
            width: positiveInt,
            depth: positiveInt,
            heads: positiveInt,
            mlpRatio: z.number().positive(),
            layerNormEps: z.number().positive(),
          })
          .strict(),
        decoder: z.object({ width: positiveInt, depth: positiveInt, heads: positiveInt, mlpRatio: z.number().positive() }).strict(),
        maskRatio: z.number(),
        normPixLoss: z.boolean(),
        heads: z.record(z.string(), positiveInt),
      })
      .strict(),
  })
  .strict();
const rgb = z.tuple([z.number(), z.number(), z.number()]);
const normalizationSchema = z.object({ mean: rgb, std: rgb.refine((s) => s.every((v) => v > 0), 'std must be positive') }).strict();
const provenanceSchema = z
  .object({ bmaeVersion: z.string(), backend: z.string(), seed: z.number().int().nullable(), createdAt: z.string(), command: z.string() })
  .strict();

function parseMetadataJson<T>(path: string, key: string, text: string, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: metadata "${key}" is not valid JSON (${(error as Error).message})`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw new Error(`${path}: metadata "${key}" is invalid: ${issues}`);
  }
  return parsed.data;
}

export function patchGeometry(config: MaeConfig): PatchGeometry {
  return { patchSize: config.encoder.patchSize, inChannels: config.encoder.channels };
}

// ---- writing ----

/**
 * The .safetensors bytes of `params` (bmae layout, Map order kept) in PyTorch layout with bmae metadata.
 * Reads every tensor back from the backend once (this awaits the device).
 * @param source named in errors (the file it is for)
 */
export async function encodeCheckpoint(params: ReadonlyMap<string, tf.Tensor>, info: CheckpointInfo, source: string): Promise<Uint8Array> {
  validateMaeConfig(info.config);
  const patch = patchGeometry(info.config);
  const tensors = new Map<string, HostTensor>();
  for (const [name, tensor] of params) {
    if (tensor.dtype !== 'float32') throw new Error(`${source}: parameter "${name}" is ${tensor.dtype}, checkpoints hold float32`);
    const data = (await tensor.data()) as Float32Array;
    tensors.set(name, toPytorchLayout(name, { shape: tensor.shape, data }, patch));
  }
  const metadata: Record<string, string> = {
    format: 'pt',
    [METADATA_KEYS.model]: JSON.stringify({ preset: info.preset, config: info.config }),
    [METADATA_KEYS.normalization]: JSON.stringify(info.normalization),
  };
  if (info.provenance) metadata[METADATA_KEYS.provenance] = JSON.stringify(info.provenance);
  return encodeSafetensors(tensors, metadata, source);
}

/** Writes `params` as a checkpoint file (see encodeCheckpoint), atomically. */
export async function saveCheckpoint(path: string, params: ReadonlyMap<string, tf.Tensor>, info: CheckpointInfo): Promise<void> {
  const bytes = await encodeCheckpoint(params, info, path);
  await writeFileAtomic(path, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

// ---- reading ----

/** A checkpoint read from disk: its info (from metadata or the fallback preset) and tensors in PyTorch layout. */
export interface Checkpoint {
  path: string;
  info: CheckpointInfo;
  /** True when the model config came from the file, false when from the `preset` option. */
  configFromFile: boolean;
  /** As stored: PyTorch names, layout and file order. */
  tensors: Map<string, HostTensor>;
}

export interface ReadCheckpointOptions {
  /**
   * The model preset for files without bmae metadata (e.g. written by PyTorch). Ignored, with a warning
   * from the caller's side if it wishes, when the file names its own config.
   */
  preset?: string;
}

/**
 * Prediction heads as a file's tensors show them: `decoder_pred.weight` [out, in] is the pixel head,
 * `decoder_pred_<name>.weight` the head of target <name>. Empty for an encoder-only file.
 */
export function headsFromTensors(tensors: ReadonlyMap<string, { shape: readonly number[] }>): Record<string, number> {
  const heads: Record<string, number> = {};
  for (const [name, { shape }] of tensors) {
    const match = /^decoder_pred(?:_([A-Za-z0-9_]+))?\.weight$/.exec(name);
    if (match && shape.length === 2) heads[match[1] ?? PIXELS_HEAD] = shape[0];
  }
  return heads;
}

/** The model a file describes: from its bmae metadata, or (foreign files) from `options.preset` and its heads. */
function resolveInfo(
  path: string,
  metadata: Record<string, string>,
  shapes: ReadonlyMap<string, { shape: readonly number[] }>,
  options: ReadCheckpointOptions,
): { info: CheckpointInfo; configFromFile: boolean } {
  const modelText = metadata[METADATA_KEYS.model];
  let preset: PresetName | null;
  let config: MaeConfig;
  if (modelText !== undefined) {
    ({ preset, config } = parseMetadataJson(path, METADATA_KEYS.model, modelText, modelSchema));
    try {
      validateMaeConfig(config);
    } catch (error) {
      throw new Error(`${path}: metadata "${METADATA_KEYS.model}": ${(error as Error).message}`);
    }
  } else {
    if (options.preset === undefined) {
      throw new Error(
        `${path} has no "${METADATA_KEYS.model}" metadata (not written by bmae): name its architecture with --preset (one of ${PRESET_NAMES.join(', ')})`,
      );
    }
    if (!(PRESET_NAMES as string[]).includes(options.preset)) {
      throw new Error(`Unknown model preset '${options.preset}': choose one of ${PRESET_NAMES.join(', ')}`);
    }
    preset = options.preset as PresetName;
    const heads = headsFromTensors(shapes);
    config = maeConfig(preset, Object.keys(heads).length > 0 ? { heads } : {});
  }

  const normalizationText = metadata[METADATA_KEYS.normalization];
  const normalization =
    normalizationText !== undefined
      ? parseMetadataJson(path, METADATA_KEYS.normalization, normalizationText, normalizationSchema)
      : CIFAR10_NORMALIZATION;
  const provenanceText = metadata[METADATA_KEYS.provenance];
  const provenance =
    provenanceText !== undefined ? parseMetadataJson(path, METADATA_KEYS.provenance, provenanceText, provenanceSchema) : undefined;
  return {
    info: { preset, config, normalization: { mean: [...normalization.mean], std: [...normalization.std] }, ...(provenance ? { provenance } : {}) },
    configFromFile: modelText !== undefined,
  };
}

/** Reads a checkpoint and resolves its model config; does not touch tfjs. */
export async function readCheckpoint(path: string, options: ReadCheckpointOptions = {}): Promise<Checkpoint> {
  const { tensors, metadata } = await readSafetensors(path);
  return { path, ...resolveInfo(path, metadata, tensors, options), tensors };
}

/** A checkpoint as its header describes it: no tensor data read. */
export interface CheckpointHeader {
  path: string;
  info: CheckpointInfo;
  configFromFile: boolean;
  /** tensor name -> shape as stored (PyTorch layout), in file order */
  shapes: Map<string, number[]>;
}

/** Reads only a checkpoint's header (kilobytes): its model, and its tensors' names and shapes. */
export async function readCheckpointHeader(path: string, options: ReadCheckpointOptions = {}): Promise<CheckpointHeader> {
  const { entries, metadata } = await readSafetensorsHeader(path);
  const shapes = new Map(entries.map(({ name, shape }) => [name, shape]));
  return { path, ...resolveInfo(path, metadata, new Map(entries.map((e) => [e.name, e])), options), shapes };
}

/**
 * Checks that a checkpoint can load into an encoder of its own config (names and shapes, PyTorch
 * layout) before any model is built or data read, with the error `assignCheckpoint` would give later.
 * @returns the header, for the caller to name the preset and config
 */
export async function checkEncoderCheckpoint(path: string, options: ReadCheckpointOptions = {}): Promise<CheckpointHeader> {
  const header = await readCheckpointHeader(path, options);
  const patch = patchGeometry(header.info.config);
  const expected = new Map([...encoderParamShapes(header.info.config.encoder)].map(([name, shape]) => [name, pytorchShape(name, shape, patch)]));
  const { problems } = checkFit(header.shapes, expected, true);
  if (problems.length > 0) throw new Error(fitError(path, problems, true));
  return header;
}

/** Which part of the model a parameter belongs to, by its official name. */
export type ParamPart = 'encoder' | 'decoder' | 'head';

export function paramPart(name: string): ParamPart {
  if (name === 'mask_token' || name.startsWith('decoder_')) return 'decoder';
  if (name.startsWith('head.') || name.startsWith('fc_norm.')) return 'head';
  return 'encoder';
}

export interface AssignCheckpointOptions {
  /**
   * Load the encoder only (for classifiers and feature extraction): the file's decoder tensors are ignored,
   * the model's decoder parameters (if any) keep their values, and classifier tensors (head.*, fc_norm.*)
   * are loaded when both sides have them with the same shape, else left as they are (and reported).
   */
  encoderOnly?: boolean;
}

export interface AssignReport {
  /** Parameters given the file's values. */
  loaded: string[];
  /** File tensors not used (decoder tensors under encoderOnly, or a head the model lacks). */
  ignored: string[];
  /** Model parameters left at their current values (under encoderOnly: decoder, or a head the file lacks). */
  kept: string[];
}

/**
 * Which stored tensors (name -> shape, PyTorch layout) fit which model parameters (name -> expected
 * PyTorch shape), and what does not: see AssignCheckpointOptions.encoderOnly for what is skipped.
 */
function checkFit(stored: ReadonlyMap<string, readonly number[]>, expected: ReadonlyMap<string, readonly number[]>, encoderOnly: boolean): { report: AssignReport; problems: string[] } {
  const report: AssignReport = { loaded: [], ignored: [], kept: [] };
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const part = paramPart(name);
    if (encoderOnly && part === 'decoder') {
      report.kept.push(name);
      continue;
    }
    const found = stored.get(name);
    if (!found) {
      if (encoderOnly && part === 'head') report.kept.push(name);
      else problems.push(`missing tensor "${name}" (expected shape [${shape.join(', ')}])`);
    } else if (found.length !== shape.length || found.some((dim, i) => dim !== shape[i])) {
      // As MAE's fine-tuning drops a pre-trained head of another size, an encoder-only load keeps the model's.
      if (encoderOnly && part === 'head') report.kept.push(name);
      else problems.push(`tensor "${name}" has shape [${found.join(', ')}], expected [${shape.join(', ')}]`);
    } else {
      report.loaded.push(name);
    }
  }
  const loaded = new Set(report.loaded);
  for (const name of stored.keys()) {
    const part = paramPart(name);
    if (encoderOnly && part !== 'encoder' && !loaded.has(name)) report.ignored.push(name);
    else if (!expected.has(name)) problems.push(`unexpected tensor "${name}" (the model has no such parameter)`);
  }
  return { report, problems };
}

function fitError(path: string, problems: readonly string[], encoderOnly: boolean): string {
  const shown = problems.slice(0, 10).join('; ') + (problems.length > 10 ? `; and ${problems.length - 10} more` : '');
  return `${path} does not fit the model${encoderOnly ? ' encoder' : ''}: ${shown}`;
}

/**
 * Sets `params` (bmae layout) to the checkpoint's values. Checks everything before assigning anything: a
 * missing, unexpected or mis-shaped tensor fails with its name and the expected vs found shape (as the file
 * stores it, PyTorch layout).
 */
export function assignCheckpoint(checkpoint: Checkpoint, params: ReadonlyMap<string, tf.Variable>, options: AssignCheckpointOptions = {}): AssignReport {
  const { path, tensors, info } = checkpoint;
  const patch = patchGeometry(info.config);
  const encoderOnly = options.encoderOnly ?? false;
  const expected = new Map([...params].map(([name, variable]) => [name, pytorchShape(name, variable.shape, patch)]));
  const { report, problems } = checkFit(new Map([...tensors].map(([name, t]) => [name, t.shape])), expected, encoderOnly);
  if (problems.length > 0) throw new Error(fitError(path, problems, encoderOnly));

  for (const name of report.loaded) {
    const variable = params.get(name)!;
    const { shape, data } = fromPytorchLayout(name, tensors.get(name)!);
    tf.tidy(() => variable.assign(tf.tensor(data, shape, 'float32')));
  }
  return report;
}
