/**
 * The machine's cores shared between the processes computing on the native backend.
 *
 * Why: on a small machine two one-thread processes train faster than one two-thread process (tfjs's
 * JavaScript between kernels runs on one thread), so experiments run side by side (Nx --parallel,
 * a stage's seeds in worker processes). Each process should then take its share of the cores, and a
 * process left alone all of them, without anyone choosing BMAE_THREADS by hand. Resizing the pool
 * mid-run changes no number: the kernels partition their work by shape, never by thread count.
 *
 * How: every computing process keeps a file `<pid>.json` in a folder shared by the host's processes
 * (env BMAE_CORE_SHARE_DIR, else <tmpdir>/bmae-core-share-<uid>). A process whose threads are fixed
 * (BMAE_THREADS, or setThreads()) records how many it uses; the others ("shared") split the cores that
 * are left, the remainder going to the lowest pids. A shared process re-reads the folder at most once
 * a second, between kernels, and resizes its pool. Files of processes that died are removed by the
 * next reader.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

/** One computing process of the host: its pid and, if fixed, its thread count (null: it takes a share). */
export interface CoreShareEntry {
  pid: number;
  threads: number | null;
  /** a stage's seed worker (entered by its launcher): a bounded run that ends, unlike e.g. an idle test runner */
  seedWorker?: boolean;
}

/**
 * The threads of process `self` among `entries` on `cores` cores: the fixed processes take their
 * threads, the shared ones split the rest evenly (at least one each), remainder to the lowest pids.
 */
export function sharedThreads(entries: readonly CoreShareEntry[], self: number, cores: number): number {
  const fixed = entries.filter((e) => e.threads !== null).reduce((sum, e) => sum + (e.threads as number), 0);
  const shared = entries.filter((e) => e.threads === null).map((e) => e.pid);
  if (!shared.includes(self)) shared.push(self);
  shared.sort((a, b) => a - b);
  const free = Math.max(0, cores - fixed);
  const base = Math.floor(free / shared.length);
  const extra = shared.indexOf(self) < free % shared.length ? 1 : 0;
  return Math.max(1, base + extra);
}

/** Cores the host's computing processes take: a fixed process its threads, a shared one at least one. */
export function coresTaken(entries: readonly CoreShareEntry[]): number {
  return entries.reduce((sum, e) => sum + (e.threads ?? 1), 0);
}

/** BMAE_THREADS when it is a thread count (the addon sizes its pool from it, fixed), else null (shared). */
export function fixedThreadsFromEnv(env: NodeJS.ProcessEnv = process.env): number | null {
  const threads = Number(env.BMAE_THREADS);
  return env.BMAE_THREADS && Number.isInteger(threads) && threads > 0 ? threads : null;
}

export function defaultCoreShareDir(env: NodeJS.ProcessEnv = process.env): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return env.BMAE_CORE_SHARE_DIR || join(tmpdir(), `bmae-core-share-${uid}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live entries of a share folder; files of dead processes are removed on the way. */
export function readCoreShare(dir: string = defaultCoreShareDir()): CoreShareEntry[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const entries: CoreShareEntry[] = [];
  for (const name of names) {
    const match = /^(\d+)\.json$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (!alive(pid)) {
      rmSync(join(dir, name), { force: true });
      continue;
    }
    try {
      const { threads, seedWorker } = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { threads: unknown; seedWorker: unknown };
      const entry: CoreShareEntry = { pid, threads: Number.isInteger(threads) && (threads as number) > 0 ? (threads as number) : null };
      entries.push(seedWorker === true ? { ...entry, seedWorker } : entry);
    } catch {
      // being written (renamed into place, so rarely seen) or foreign: counts as a shared process
      entries.push({ pid, threads: null });
    }
  }
  return entries;
}

/**
 * Enters a seed worker in the share before its first kernel (its launcher, for the child it just
 * started, so that launchers deciding after it see it). The child's own entry keeps the mark.
 */
export function announceSeedWorker(pid: number, threads: number | null, dir: string = defaultCoreShareDir()): void {
  try {
    mkdirSync(dir, { recursive: true });
    writeEntry(join(dir, `${pid}.json`), threads, { seedWorker: true });
  } catch {
    // see writeEntry
  }
}

/**
 * Best effort (renamed into place, so readers never see half a file): an unwritable folder only means
 * others cannot see the process. A rewrite keeps what else the file says (a launcher's seedWorker mark).
 */
function writeEntry(file: string, threads: number | null, mark: { seedWorker?: true } = {}): void {
  const temporary = `${file}.${process.pid}.tmp`;
  let previous: object = {};
  try {
    previous = JSON.parse(readFileSync(file, 'utf8')) as object;
  } catch {
    // first entry, or unreadable: written afresh
  }
  try {
    writeFileSync(temporary, JSON.stringify({ ...previous, ...mark, threads }));
    renameSync(temporary, file);
  } catch {
    rmSync(temporary, { force: true });
  }
}

export interface CoreShareOptions {
  dir?: string;
  cores?: number;
  /** fixed thread count of this process (null: take a share) */
  fixedThreads: number | null;
  /** applies a new thread count to the pool */
  apply: (threads: number) => void;
  /** minimum time between two reads of the folder, ms */
  intervalMs?: number;
  now?: () => number;
}

/** This process's membership of the share (see the module comment). */
export class CoreShare {
  private readonly dir: string;
  private readonly cores: number;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private fixed: number | null;
  private joined = false;
  private nextCheck = 0;
  private current = 0;

  constructor(private readonly options: CoreShareOptions) {
    this.dir = options.dir ?? defaultCoreShareDir();
    this.cores = options.cores ?? availableParallelism();
    this.intervalMs = options.intervalMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.fixed = options.fixedThreads;
  }

  /** Called between kernels: joins on first use, then follows the share at most once per interval. */
  tick(): void {
    const now = this.now();
    if (this.joined && now < this.nextCheck) return;
    this.nextCheck = now + this.intervalMs;
    if (!this.joined) this.join();
    if (this.fixed !== null) return;
    const threads = sharedThreads(readCoreShare(this.dir), process.pid, this.cores);
    if (threads !== this.current) {
      this.current = threads;
      this.options.apply(threads);
    }
  }

  /** From now on this process uses `threads` threads whatever the others do (setThreads()). */
  fix(threads: number): void {
    this.fixed = threads;
    if (this.joined) writeEntry(this.file(), threads);
  }

  /** True while this process takes a share (no fixed thread count). */
  get shared(): boolean {
    return this.fixed === null;
  }

  private join(): void {
    this.joined = true;
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch {
      return; // see writeEntry
    }
    writeEntry(this.file(), this.fixed);
    process.once('exit', () => rmSync(this.file(), { force: true }));
  }

  private file(): string {
    return join(this.dir, `${process.pid}.json`);
  }
}
