/**
 * One writer per run folder. Every process that writes a run folder (pre-training, each
 * evaluation stage's folder, the direct commands' --out) holds its lock, so a second writer is
 * refused at once instead of interleaving metrics and racing checkpoint renames.
 *
 * The lock is proper-lockfile's (an atomic mkdir of `<folder>.lock`, beside the folder so that
 * emptying the folder keeps it); `<folder>.lock-holder.json` beside it records who holds it (pid,
 * host, command, since), which the refusal names. proper-lockfile releases held locks when the
 * process exits, also on SIGINT / SIGTERM; only SIGKILL (or a power cut) leaves a lock behind.
 *
 * Staleness: proper-lockfile judges a lock by how recently its holder touched it, but a training
 * epoch or a feature extraction blocks the event loop for minutes, so that clock cannot be trusted
 * here. Instead a lock whose recorded holder ran on this host and is no longer alive is taken over
 * at once (SIGKILL, then `--resume` straight away, must work); the mtime staleness is kept only as
 * a long backstop for holders on other hosts (a shared file system), whose pid cannot be checked.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import * as lockfile from 'proper-lockfile';
import writeFileAtomic from 'write-file-atomic';

/** Who holds a run folder, as written beside its lock. */
export interface LockHolder {
  pid: number;
  host: string;
  /** what the holder does, e.g. "pre-training" or "linprobe stage" */
  purpose: string;
  command: string;
  since: string;
}

/** A held lock; `release` is idempotent. */
export interface RunLock {
  /** the locked folder (absolute) */
  folder: string;
  release(): Promise<void>;
}

/** A day: longer than any blocking stretch of a run, still within setTimeout's 2^31 ms range. */
const STALE_MS = 24 * 3600 * 1000;

export function lockPath(folder: string): string {
  return `${resolve(folder)}.lock`;
}

export function holderPath(folder: string): string {
  return `${resolve(folder)}.lock-holder.json`;
}

/** Thrown when another process holds the folder; the message names the folder and the holder. */
export class RunFolderLockedError extends Error {
  constructor(
    readonly folder: string,
    readonly holder: LockHolder | null,
  ) {
    const who = holder
      ? `pid ${holder.pid} on host ${holder.host} (${holder.purpose}, since ${holder.since}: ${holder.command})`
      : `a process that left no ${holderPath(folder)}`;
    super(
      `${folder} is being written by another process: ${who}. Wait for it to finish, or stop it; ` +
        `if no such process runs, delete ${lockPath(folder)}`,
    );
  }
}

export function readHolder(folder: string): LockHolder | null {
  try {
    const value = JSON.parse(readFileSync(holderPath(folder), 'utf8')) as Partial<LockHolder>;
    return typeof value.pid === 'number' && typeof value.host === 'string' ? (value as LockHolder) : null;
  } catch {
    return null; // none written yet, or damaged: the holder is unknown
  }
}

/** Whether `holder` ran on this host and has ended (so its lock protects nothing). */
export function holderIsGone(holder: LockHolder): boolean {
  if (holder.host !== hostname() || holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0); // signal 0: only asks whether the process exists
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'; // EPERM: alive, another user's
  }
}

function isLocked(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ELOCKED';
}

async function acquire(folder: string, purpose: string, log: (line: string) => void): Promise<RunLock> {
  const release = await lockfile.lock(folder, {
    realpath: false, // the folder may not exist yet (a stage creates it once locked)
    lockfilePath: lockPath(folder),
    stale: STALE_MS,
    // Only someone deleting the lock (or taking it over as stale) gets here: say so, keep running.
    onCompromised: (error) => log(`warning: the lock ${lockPath(folder)} was removed by someone else (${error.message}); another process may now write ${folder}`),
  });
  const holder: LockHolder = { pid: process.pid, host: hostname(), purpose, command: process.argv.slice(1).join(' '), since: new Date().toISOString() };
  writeFileAtomic.sync(holderPath(folder), `${JSON.stringify(holder, null, 2)}\n`);
  let released = false;
  return {
    folder,
    async release() {
      if (released) return;
      released = true;
      rmSync(holderPath(folder), { force: true });
      await release().catch(() => {}); // already gone (compromised): nothing left to release
    },
  };
}

/**
 * Locks `folder` for writing, or throws RunFolderLockedError naming the holder. A lock left by a
 * holder that died on this host is taken over (under a short second lock, so that two processes
 * resuming at once do not both take it).
 * @param purpose recorded for the refusal message of a later writer, e.g. "pre-training"
 */
export async function lockRunFolder(folder: string, purpose: string, log: (line: string) => void = (l) => console.error(l)): Promise<RunLock> {
  const absolute = resolve(folder);
  mkdirSync(dirname(absolute), { recursive: true });
  try {
    return await acquire(absolute, purpose, log);
  } catch (error) {
    if (!isLocked(error)) throw new Error(`cannot lock ${absolute}: ${(error as Error).message}`);
  }
  const takeover = `${absolute}.lock-takeover`;
  const releaseTakeover = await lockfile
    .lock(takeover, { realpath: false, lockfilePath: takeover, retries: { retries: 20, minTimeout: 20, maxTimeout: 200 } })
    .catch((error: Error) => {
      throw new Error(`cannot lock ${absolute}: ${error.message} (${takeover})`);
    });
  try {
    // Read again under the takeover lock: another process may have just taken over.
    const holder = readHolder(absolute);
    if (holder === null || !holderIsGone(holder)) throw new RunFolderLockedError(absolute, holder);
    log(`${absolute}: taking over the lock of pid ${holder.pid}, which ended without releasing it (killed?)`);
    rmSync(lockPath(absolute), { recursive: true, force: true });
    try {
      return await acquire(absolute, purpose, log);
    } catch (error) {
      if (isLocked(error)) throw new RunFolderLockedError(absolute, readHolder(absolute));
      throw error;
    }
  } finally {
    await releaseTakeover();
  }
}

/** Runs `work` holding the lock of `folder` (see lockRunFolder); releases it however `work` ends. */
export async function withRunLock<T>(folder: string, purpose: string, work: (lock: RunLock) => Promise<T>, log?: (line: string) => void): Promise<T> {
  const lock = await lockRunFolder(folder, purpose, log);
  try {
    return await work(lock);
  } finally {
    await lock.release();
  }
}
