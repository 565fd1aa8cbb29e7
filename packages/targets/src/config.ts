/**
 * Target settings: a zod discriminated union on `kind`, strict (unknown keys refused), with every
 * default here and nowhere else. Defaults follow notes/method.md: norm_pix on, MAE-K K = 5, EMA
 * tau 0.005 and WSE 5, feature targets LayerNorm-ed (no affine) tokens after the final norm.
 */
import { z } from 'zod';

const headName = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, 'a head name is lower-case letters, digits and _, starting with a letter')
  .refine((name) => name !== 'pixels', "'pixels' is the pixel head's name; pick another");

const featureOptions = z
  .object({
    /** normalisation of target tokens before the loss */
    norm: z.enum(['layernorm', 'instancenorm', 'none']).default('layernorm'),
    /** tokens after (default) or before the target encoder's final LayerNorm */
    tokens: z.enum(['afterNorm', 'beforeNorm']).default('afterNorm'),
  })
  .strict();

/** MAE's norm_pix_loss for the pixel target (and the pixel phase of bootstrapped targets). */
const normPix = z.boolean().default(true);

export const pixelsTargetSchema = z.object({ kind: z.literal('pixels'), normPix }).strict();

export const snapshotTargetSchema = z
  .object({
    kind: z.literal('snapshot'),
    /** head name: the prediction head is decoder_pred_<name> */
    name: headName.default('snapshot'),
    /** K: copy the online encoder into the target at the start of epochs K, 2K, ... */
    every: z.number().int().min(1).default(5),
    normPix,
    features: featureOptions.prefault({}),
  })
  .strict();

export const emaTargetSchema = z
  .object({
    kind: z.literal('ema'),
    name: headName.default('ema'),
    /** target = (1 - tau) * target + tau * online */
    tau: z.number().min(0).max(1).default(0.005),
    /** WSE: epochs of pixel reconstruction before the target encoder exists */
    warmupEpochs: z.number().int().min(0).default(5),
    updateEvery: z.enum(['epoch', 'step']).default('epoch'),
    normPix,
    features: featureOptions.prefault({}),
  })
  .strict();

const componentSchema = z.discriminatedUnion('kind', [pixelsTargetSchema, snapshotTargetSchema, emaTargetSchema]);

export const weightedSumTargetSchema = z
  .object({
    kind: z.literal('sum'),
    /** loss = sum of weight * component loss (MAE-new: L_fast + 0.2 * L_slow) */
    terms: z.array(z.object({ weight: z.number().positive(), target: componentSchema }).strict()).min(1),
  })
  .strict()
  .superRefine((sum, ctx) => {
    const seen = new Set<string>();
    sum.terms.forEach(({ target }, i) => {
      if (target.kind === 'pixels') return;
      if (seen.has(target.name)) {
        ctx.addIssue({ code: 'custom', path: ['terms', i, 'target', 'name'], message: `head name "${target.name}" is used twice; give each target its own name` });
      }
      seen.add(target.name);
    });
    // Components in their pixel phase share the 'pixels' head; their targets must be the same.
    const normPixValues = new Set(sum.terms.map(({ target }) => target.normPix));
    if (normPixValues.size > 1) {
      ctx.addIssue({ code: 'custom', path: ['terms'], message: 'all terms must agree on normPix (they share the pixels head)' });
    }
  });

export const targetConfigSchema = z.discriminatedUnion('kind', [
  pixelsTargetSchema,
  snapshotTargetSchema,
  emaTargetSchema,
  weightedSumTargetSchema,
]);

export type PixelsTargetConfig = z.infer<typeof pixelsTargetSchema>;
export type SnapshotTargetConfig = z.infer<typeof snapshotTargetSchema>;
export type EmaTargetConfig = z.infer<typeof emaTargetSchema>;
export type WeightedSumTargetConfig = z.infer<typeof weightedSumTargetSchema>;
export type TargetConfig = z.infer<typeof targetConfigSchema>;
/** What a config file may write: every defaulted key optional. */
export type TargetConfigInput = z.input<typeof targetConfigSchema>;
export type TargetKind = TargetConfig['kind'];

/** The report's four methods as configs (MAE-new: EMA tau 0.005 WSE 5 + 0.2 * MAE-5). */
export const targetPresets = {
  mae: { kind: 'pixels' },
  'mae-k': { kind: 'snapshot', every: 5 },
  'ema-mae': { kind: 'ema', tau: 0.005, warmupEpochs: 5 },
  'mae-new': {
    kind: 'sum',
    terms: [
      { weight: 1, target: { kind: 'ema', tau: 0.005, warmupEpochs: 5 } },
      { weight: 0.2, target: { kind: 'snapshot', every: 5 } },
    ],
  },
} as const satisfies Record<string, TargetConfigInput>;

/** Validates target settings; errors name the key (`target.every`) and what is allowed. */
export function parseTargetConfig(input: unknown): TargetConfig {
  const parsed = targetConfigSchema.safeParse(input);
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => `target.${issue.path.join('.')}: ${issue.message}`.replace(/\.:/, ':'));
    throw new Error(`invalid target config: ${details.join('; ')}`);
  }
  return parsed.data;
}
