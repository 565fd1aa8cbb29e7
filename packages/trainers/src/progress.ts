/**
 * Progress display for long loops: a cli-progress bar on a terminal, plain periodic lines otherwise
 * (logs, CI), or nothing.
 */
import { SingleBar, Presets } from 'cli-progress';

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

export interface Progress {
  /** a new epoch of `total` steps */
  start(label: string, total: number): void;
  /** `done` steps of the current epoch are complete; `status` is a short summary (loss, img/s) */
  update(done: number, status: string): void;
  /** a line that must be shown (logged record) */
  line(text: string): void;
  stop(): void;
}

export function createProgress(mode: ProgressMode, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Progress {
  const resolved = mode === 'auto' ? (process.stderr.isTTY ? 'bar' : 'lines') : mode;
  if (resolved === 'none') return { start() {}, update() {}, line() {}, stop() {} };
  if (resolved === 'lines') return { start() {}, update() {}, line: write, stop() {} };
  let bar: SingleBar | null = null;
  return {
    start(label, total) {
      bar?.stop();
      bar = new SingleBar({ format: `${label} [{bar}] {value}/{total} {status}`, hideCursor: true, stream: process.stderr }, Presets.shades_classic);
      bar.start(total, 0, { status: '' });
    },
    update(done, status) {
      bar?.update(done, { status });
    },
    line(text) {
      // cli-progress redraws on its own line; print above it.
      if (bar) process.stderr.write(`\r\x1b[K${text}\n`);
      else write(text);
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
