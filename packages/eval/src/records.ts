/**
 * Evaluation result records: one JSON file per evaluation (fine-tune, linear probe, kNN) that the
 * experiments app turns into tables and plots. The zod schema is the single definition of the
 * format; files are validated on write and on read, so a table never silently shows a half-written
 * or hand-edited record.
 */
import { readFileSync } from 'node:fs';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';

export const EVAL_RECORD_SCHEMA = 'bmae.eval.v1';

const metricsSchema = z
  .object({
    count: z.number().int().positive(),
    top1: z.number().min(0).max(1),
    perClass: z.array(z.object({ name: z.string(), count: z.number().int().nonnegative(), accuracy: z.number().min(0).max(1).nullable() }).strict()),
    confusion: z.array(z.array(z.number().int().nonnegative())),
  })
  .strict();

/** One point of a training curve (fine-tune / linear-probe head), logged once per epoch. */
const historyEntrySchema = z
  .object({
    epoch: z.number().int().nonnegative(),
    trainLoss: z.number().optional(),
    lr: z.number().optional(),
    /** held-out top-1 after this epoch, fraction */
    top1: z.number().min(0).max(1).optional(),
  })
  .strict();

export const evalRecordSchema = z
  .object({
    schema: z.literal(EVAL_RECORD_SCHEMA),
    protocol: z.enum(['finetune', 'linprobe', 'knn']),
    encoder: z
      .object({
        /** the pre-training checkpoint evaluated; null for the random-init baseline */
        checkpoint: z.string().nullable(),
        preset: z.string(),
      })
      .strict(),
    data: z
      .object({
        source: z.string(),
        fingerprint: z.string(),
        trainCount: z.number().int().nonnegative(),
        testCount: z.number().int().positive(),
      })
      .strict(),
    /** metrics on the test split */
    metrics: metricsSchema,
    history: z.array(historyEntrySchema),
    /** the protocol's resolved settings (k and temperature, epochs and lr, ...) */
    settings: z.record(z.string(), z.unknown()),
    backend: z.string(),
    seed: z.number().int(),
    seconds: z.number().nonnegative(),
    createdAt: z.string(),
  })
  .strict();

export type EvalRecord = z.infer<typeof evalRecordSchema>;
export type EvalProtocol = EvalRecord['protocol'];

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

/** Validates then writes `record` as pretty JSON, atomically (temp file + rename). */
export function writeEvalRecord(file: string, record: EvalRecord): void {
  const parsed = evalRecordSchema.safeParse(record);
  if (!parsed.success) throw new Error(`refusing to write invalid eval record ${file}: ${describeIssues(parsed.error)}`);
  writeFileAtomic.sync(file, `${JSON.stringify(parsed.data, null, 2)}\n`);
}

/** Reads and validates a record written by `writeEvalRecord`. */
export function readEvalRecord(file: string): EvalRecord {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read eval record ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = evalRecordSchema.safeParse(json);
  if (!parsed.success) throw new Error(`invalid eval record ${file}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
