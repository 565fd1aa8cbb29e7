import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { announceSeedWorker, CoreShare, coresTaken, fixedThreadsFromEnv, readCoreShare, sharedThreads } from './core-share';
import { describeNative } from './test-utils';

describe('sharedThreads', () => {
  it('gives a lone process every core', () => {
    expect(sharedThreads([], 10, 2)).toBe(2);
    expect(sharedThreads([{ pid: 10, threads: null }], 10, 8)).toBe(8);
  });

  it('splits the cores evenly, the remainder to the lowest pids', () => {
    const three = [{ pid: 30, threads: null }, { pid: 10, threads: null }, { pid: 20, threads: null }];
    expect([10, 20, 30].map((pid) => sharedThreads(three, pid, 8))).toEqual([3, 3, 2]);
    expect([10, 20, 30].map((pid) => sharedThreads(three, pid, 2))).toEqual([1, 1, 1]); // never below one
    expect(sharedThreads([{ pid: 10, threads: null }], 20, 2)).toBe(1); // self counted even before its file exists
  });

  it('leaves fixed processes their threads and splits what is left', () => {
    const entries = [{ pid: 1, threads: 4 }, { pid: 2, threads: null }, { pid: 3, threads: null }];
    expect(sharedThreads(entries, 2, 8)).toBe(2);
    expect(sharedThreads([{ pid: 1, threads: 8 }, { pid: 2, threads: null }], 2, 8)).toBe(1);
    expect(coresTaken(entries)).toBe(6);
  });
});

describe('fixedThreadsFromEnv', () => {
  it('reads a thread count from BMAE_THREADS, and nothing else', () => {
    expect(fixedThreadsFromEnv({ BMAE_THREADS: '3' })).toBe(3);
    expect([{}, { BMAE_THREADS: '' }, { BMAE_THREADS: '0' }, { BMAE_THREADS: '1.5' }, { BMAE_THREADS: 'two' }].map((env) => fixedThreadsFromEnv(env))).toEqual([null, null, null, null, null]);
  });
});

describe('CoreShare', () => {
  const folder = () => mkdtempSync(join(tmpdir(), 'bmae-core-share-test-'));

  it('joins on the first tick, then follows the others at most once per interval', () => {
    const dir = folder();
    let now = 0;
    const applied: number[] = [];
    const share = new CoreShare({ dir, cores: 2, fixedThreads: null, apply: (t) => applied.push(t), now: () => now, intervalMs: 1000 });
    share.tick();
    expect(JSON.parse(readFileSync(join(dir, `${process.pid}.json`), 'utf8'))).toEqual({ threads: null });
    expect(applied).toEqual([2]); // alone: both cores
    writeFileSync(join(dir, `${process.ppid}.json`), JSON.stringify({ threads: null })); // a live neighbour
    now = 500;
    share.tick();
    expect(applied).toEqual([2]); // not yet re-read
    now = 1000;
    share.tick();
    expect(applied).toEqual([2, 1]);
    now = 2000;
    share.tick();
    expect(applied).toEqual([2, 1]); // unchanged: not applied again
    expect(share.shared).toBe(true);
    share.fix(2);
    expect(share.shared).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, `${process.pid}.json`), 'utf8'))).toEqual({ threads: 2 });
    now = 5000;
    share.tick();
    expect(applied).toEqual([2, 1]); // fixed: never resized again
  });

  it('drops the files of processes that are gone and reads fixed thread counts', () => {
    const dir = folder();
    writeFileSync(join(dir, '999999999.json'), JSON.stringify({ threads: null })); // no such pid
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify({ threads: 3 }));
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    expect(readCoreShare(dir)).toEqual([{ pid: process.pid, threads: 3 }]);
    expect(readdirSync(dir).sort()).toEqual([`${process.pid}.json`, 'notes.txt']);
    expect(readCoreShare(join(dir, 'absent'))).toEqual([]);
  });

  it('marks a launched seed worker, and the worker\'s own entry keeps the mark', () => {
    const dir = folder();
    announceSeedWorker(process.pid, null, dir); // as a launcher does for the child it just started
    expect(readCoreShare(dir)).toEqual([{ pid: process.pid, threads: null, seedWorker: true }]);
    new CoreShare({ dir, cores: 2, fixedThreads: 1, apply: () => {} }).tick(); // the child joins
    expect(readCoreShare(dir)).toEqual([{ pid: process.pid, threads: 1, seedWorker: true }]);
  });

  it('removes its file when the process exits', async () => {
    const dir = folder();
    const script = `require('tsx/cjs'); const { CoreShare } = require(${JSON.stringify(join(__dirname, 'core-share.ts'))});
      new CoreShare({ dir: ${JSON.stringify(dir)}, fixedThreads: 1, apply: () => {} }).tick();
      console.log(require('node:fs').readdirSync(${JSON.stringify(dir)}).join(','));`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    await new Promise((done) => child.on('close', done));
    expect(out.trim()).toBe(`${child.pid}.json`);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describeNative('the native backend in the core share', () => {
  /** A child process that runs one native kernel, then prints its thread count and its share entry. */
  const childThreads = (dir: string, env: Record<string, string>) => {
    const script = `require('tsx/cjs'); const tf = require('@tensorflow/tfjs-core'); const native = require(${JSON.stringify(join(__dirname, 'index.ts'))});
      tf.setBackend('native').then(() => {
        tf.add(tf.ones([4]), tf.ones([4])).dataSync();
        const entry = require('node:fs').readFileSync(require('node:path').join(${JSON.stringify(dir)}, process.pid + '.json'), 'utf8');
        console.log(JSON.stringify({ threads: native.getThreads(), shared: native.threadsShared(), entry: JSON.parse(entry) }));
      });`;
    const { BMAE_THREADS: _ignored, ...rest } = process.env;
    return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...rest, BMAE_CORE_SHARE_DIR: dir, ...env }, encoding: 'utf8' }));
  };

  it('takes every core alone, its share beside another process, and keeps a fixed BMAE_THREADS', () => {
    const cores = availableParallelism();
    const dir = mkdtempSync(join(tmpdir(), 'bmae-core-share-native-'));
    expect(childThreads(dir, {})).toEqual({ threads: cores, shared: true, entry: { threads: null } });
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify({ threads: null })); // this jest process: a live neighbour
    const beside = childThreads(dir, {});
    // two shared processes: half the cores each, the odd one to the lower pid (at least one)
    expect([Math.max(1, Math.floor(cores / 2)), Math.ceil(cores / 2)]).toContain(beside.threads);
    expect(beside.shared).toBe(true);
    expect(childThreads(dir, { BMAE_THREADS: '3' })).toEqual({ threads: 3, shared: false, entry: { threads: 3 } });
  });
});
