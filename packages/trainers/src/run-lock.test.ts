import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { holderPath, lockPath, lockRunFolder, readHolder, RunFolderLockedError, withRunLock, type LockHolder } from './run-lock';

const quiet = () => {};

/** A lock as a holder killed by SIGKILL leaves it: the lock folder and the holder file, nothing releases them. */
function leaveLock(folder: string, holder: LockHolder): void {
  mkdirSync(lockPath(folder));
  writeFileSync(holderPath(folder), JSON.stringify(holder));
}

describe('lockRunFolder', () => {
  it('refuses a second writer, naming the folder, pid and host, and allows it once released', async () => {
    const folder = join(mkdtempSync(join(tmpdir(), 'bmae-lock-')), 'run');
    const lock = await lockRunFolder(folder, 'pre-training', quiet);
    expect(readHolder(folder)).toMatchObject({ pid: process.pid, host: hostname(), purpose: 'pre-training' });
    const refusal = lockRunFolder(folder, 'linprobe stage', quiet);
    await expect(refusal).rejects.toThrow(RunFolderLockedError);
    await expect(refusal).rejects.toThrow(`${folder} is being written by another process: pid ${process.pid} on host ${hostname()} (pre-training`);
    await lock.release();
    expect(existsSync(lockPath(folder))).toBe(false);
    expect(existsSync(holderPath(folder))).toBe(false);
    await (await lockRunFolder(folder, 'again', quiet)).release();
  });

  it('takes over at once the lock of a holder that died on this host (SIGKILL leaves it behind)', async () => {
    const folder = join(mkdtempSync(join(tmpdir(), 'bmae-lock-')), 'run');
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!; // a pid that has just ended
    leaveLock(folder, { pid: gone, host: hostname(), purpose: 'pre-training', command: 'bmae pretrain', since: new Date().toISOString() });
    const lines: string[] = [];
    const lock = await lockRunFolder(folder, 'pre-training (resumed)', (line) => lines.push(line));
    expect(lines.join('\n')).toContain(`taking over the lock of pid ${gone}`);
    expect(readHolder(folder)?.pid).toBe(process.pid);
    await lock.release();
  });

  it("does not take over a lock whose holder is alive, or runs on another host (its pid can't be checked)", async () => {
    const folder = join(mkdtempSync(join(tmpdir(), 'bmae-lock-')), 'run');
    leaveLock(folder, { pid: 999999, host: 'other-host', purpose: 'knn stage', command: 'bmae stage knn mae', since: '2026-12-01T00:00:00.000Z' });
    await expect(lockRunFolder(folder, 'x', quiet)).rejects.toThrow(`pid 999999 on host other-host (knn stage, since 2026-12-01T00:00:00.000Z: bmae stage knn mae). Wait for it to finish`);
    const alive = join(mkdtempSync(join(tmpdir(), 'bmae-lock-')), 'run');
    leaveLock(alive, { pid: process.ppid, host: hostname(), purpose: 'p', command: 'c', since: 's' });
    await expect(lockRunFolder(alive, 'x', quiet)).rejects.toThrow(`pid ${process.ppid} on host ${hostname()}`);
  });

  it('withRunLock releases the lock however the work ends', async () => {
    const folder = join(mkdtempSync(join(tmpdir(), 'bmae-lock-')), 'run');
    await expect(withRunLock(folder, 'p', async () => { throw new Error('boom'); }, quiet)).rejects.toThrow('boom');
    expect(existsSync(lockPath(folder))).toBe(false);
    expect(await withRunLock(folder, 'p', async (lock) => lock.folder, quiet)).toBe(folder);
  });
});
