/**
 * Typed model configurations and named presets. DeiT-Tiny (Touvron et al., 2021) is the report's
 * encoder; its decoder size is this project's choice (shared/notes/method.md); 'small' and 'micro' keep
 * the same shape of model at a fraction of the cost for quick profiles and tests.
 */

export interface EncoderConfig {
  /** Square input side in pixels. */
  imageSize: number;
  /** Square patch side in pixels; imageSize must be a multiple of it. */
  patchSize: number;
  channels: number;
  /** Token width D. */
  width: number;
  /** Number of transformer blocks. */
  depth: number;
  /** Attention heads; must divide width. */
  heads: number;
  /** MLP hidden width = mlpRatio * width. */
  mlpRatio: number;
  layerNormEps: number;
}

export interface DecoderConfig {
  width: number;
  depth: number;
  heads: number;
  mlpRatio: number;
}

export interface MaeConfig {
  encoder: EncoderConfig;
  decoder: DecoderConfig;
  /** Fraction of patches removed per sample. */
  maskRatio: number;
  /** Normalise each pixel-target patch by its own mean/var before the loss (MAE's norm_pix_loss). */
  normPixLoss: boolean;
  /**
   * Prediction heads, in order: target name -> output dim per patch. 'pixels' is MAE's decoder_pred
   * (P*P*C outputs); any other name gets decoder_pred_<name>.
   */
  heads: Record<string, number>;
}

export const PIXELS_HEAD = 'pixels';

export type PresetName = 'deit-tiny' | 'small' | 'micro';

const ENCODER_DEFAULTS = { imageSize: 32, patchSize: 4, channels: 3, mlpRatio: 4, layerNormEps: 1e-6 };

const PRESETS: Record<PresetName, { encoder: EncoderConfig; decoder: DecoderConfig }> = {
  'deit-tiny': {
    encoder: { ...ENCODER_DEFAULTS, width: 192, depth: 12, heads: 3 },
    decoder: { width: 128, depth: 4, heads: 4, mlpRatio: 4 },
  },
  small: {
    encoder: { ...ENCODER_DEFAULTS, width: 128, depth: 6, heads: 4 },
    decoder: { width: 64, depth: 2, heads: 4, mlpRatio: 4 },
  },
  micro: {
    encoder: { ...ENCODER_DEFAULTS, width: 64, depth: 2, heads: 2 },
    decoder: { width: 32, depth: 1, heads: 2, mlpRatio: 4 },
  },
};

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** Patches per side, per image, and the flattened patch length P*P*C. */
export function patchGrid(encoder: EncoderConfig): { side: number; count: number; dim: number } {
  const side = encoder.imageSize / encoder.patchSize;
  return { side, count: side * side, dim: encoder.patchSize * encoder.patchSize * encoder.channels };
}

/** Throws a message naming the field and the value when a config cannot describe a model. */
export function validateMaeConfig(config: MaeConfig): MaeConfig {
  const { encoder, decoder } = config;
  const positive = (name: string, value: number) => {
    if (!Number.isInteger(value) || value <= 0) throw new Error(`MaeConfig.${name} must be a positive integer, got ${value}`);
  };
  for (const key of ['imageSize', 'patchSize', 'channels', 'width', 'depth', 'heads'] as const) positive(`encoder.${key}`, encoder[key]);
  for (const key of ['width', 'depth', 'heads'] as const) positive(`decoder.${key}`, decoder[key]);
  if (encoder.imageSize % encoder.patchSize !== 0) {
    throw new Error(`MaeConfig.encoder.imageSize ${encoder.imageSize} is not a multiple of patchSize ${encoder.patchSize}`);
  }
  if (encoder.width % encoder.heads !== 0) throw new Error(`MaeConfig.encoder.width ${encoder.width} is not divisible by heads ${encoder.heads}`);
  if (decoder.width % decoder.heads !== 0) throw new Error(`MaeConfig.decoder.width ${decoder.width} is not divisible by heads ${decoder.heads}`);
  // Sin-cos position embeddings split the width into 4 frequency bands (2 axes x sin/cos).
  if (encoder.width % 4 !== 0) throw new Error(`MaeConfig.encoder.width ${encoder.width} must be a multiple of 4 (sin-cos position embedding)`);
  if (decoder.width % 4 !== 0) throw new Error(`MaeConfig.decoder.width ${decoder.width} must be a multiple of 4 (sin-cos position embedding)`);
  const { count } = patchGrid(encoder);
  const kept = Math.floor(count * (1 - config.maskRatio)); // MAE: int(L * (1 - mask_ratio))
  if (!(config.maskRatio >= 0 && config.maskRatio < 1) || kept < 1) {
    throw new Error(`MaeConfig.maskRatio ${config.maskRatio} must be in [0, 1) and keep at least one of ${count} patches`);
  }
  const heads = Object.entries(config.heads);
  if (heads.length === 0) throw new Error('MaeConfig.heads is empty: at least one prediction head is needed');
  for (const [name, dim] of heads) {
    // A leading letter also keeps JavaScript's key order = insertion order (integer-like keys sort first).
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`MaeConfig.heads: head name '${name}' must be letters, digits or _, not starting with a digit`);
    positive(`heads.${name}`, dim);
  }
  return config;
}

/**
 * A preset's MAE config. Heads default to one pixel head (P*P*C outputs, MAE's decoder_pred); pass
 * e.g. { pixels: 48, ema: 192 } for a pixel and a feature head.
 */
export function maeConfig(preset: PresetName, overrides: Partial<Pick<MaeConfig, 'maskRatio' | 'normPixLoss' | 'heads'>> = {}): MaeConfig {
  const found = PRESETS[preset];
  if (!found) throw new Error(`Unknown model preset '${preset}': choose one of ${PRESET_NAMES.join(', ')}`);
  const encoder = { ...found.encoder };
  return validateMaeConfig({
    encoder,
    decoder: { ...found.decoder },
    maskRatio: 0.75,
    normPixLoss: true,
    heads: { [PIXELS_HEAD]: patchGrid(encoder).dim },
    ...overrides,
  });
}
