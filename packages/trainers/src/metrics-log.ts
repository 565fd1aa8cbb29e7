/**
 * metrics.jsonl: one JSON object per line, appended as training goes (a crash loses at most the
 * line being written). A resumed run first drops the records logged after its checkpoint's step
 * (rewriting the file atomically), so the log has no duplicated or orphaned steps.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import writeFileAtomic from 'write-file-atomic';

export type MetricsRecord = Record<string, unknown> & { step: number };

/** A training record (five per epoch: loss, lr, target state...), as opposed to a monitor record. */
export function isStepRecord(record: MetricsRecord): boolean {
  return typeof record.loss === 'number';
}

/** A monitor record (pretrain.ts EpochMonitor): values measured after `epoch` whole epochs. */
export interface MonitorRecord {
  step: number;
  epoch: number;
  monitor: Record<string, number>;
}

export function isMonitorRecord(record: MetricsRecord): record is MetricsRecord & MonitorRecord {
  return typeof record.monitor === 'object' && record.monitor !== null;
}

/** Every record of a metrics.jsonl file; a line that is not JSON is reported with its number. */
export function readMetrics(file: string): MetricsRecord[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  const records: MetricsRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      records.push(JSON.parse(line) as MetricsRecord);
    } catch {
      // A torn last line (killed mid-write) is expected after a crash; anything else is corruption.
      if (i < lines.length - 1 && lines.slice(i + 1).some((rest) => rest.trim() !== '')) {
        throw new Error(`${file}: line ${i + 1} is not JSON`);
      }
    }
  });
  return records;
}

export class MetricsLog {
  /**
   * @param resumeStep when resuming, keep only records with step <= resumeStep; undefined starts
   * a new log (an existing file is replaced)
   */
  constructor(
    readonly file: string,
    resumeStep?: number,
  ) {
    const kept = resumeStep === undefined ? [] : readMetrics(file).filter((record) => record.step <= resumeStep);
    writeFileAtomic.sync(file, kept.map((record) => `${JSON.stringify(record)}\n`).join(''));
  }

  write(record: MetricsRecord): void {
    appendFileSync(this.file, `${JSON.stringify(record)}\n`);
  }
}
