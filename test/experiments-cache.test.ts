/**
 * End-to-end: the experiments app through Nx, as a user runs it (`nx run experiments:mae-ema:smoke`),
 * in a temporary copy of the workspace (its own Nx cache, runs/ and data) so the developer's cache and
 * runs are untouched. Proves: a run produces every stage folder and the summary; a second run is
 * served from the Nx cache; changing only linear-probe settings re-runs only linprobe and summary;
 * changing the trainers' sources re-runs every stage.
 * Data: a synthetic CIFAR-10 in the official binary layout (the smoke profile reads 20 training and
 * 10 test images per class), so the test needs no download and decodes in milliseconds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, copyWorkspace, REPO, writeSyntheticCifar } from './workspace-fixtures';

const STAGE_TASKS = ['pretrain', 'linprobe', 'finetune', 'knn', 'summary'].map((s) => `experiments:mae-ema-${s}:smoke`);

describe('nx run experiments:mae-ema:smoke', () => {
  const root = mkdtempSync(join(tmpdir(), 'bmae-e2e-'));
  const workspace = join(root, 'workspace');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  // A clean environment: nothing from an Nx run that may be running this test, own cache and data.
  const env: NodeJS.ProcessEnv = cleanEnv();
  Object.assign(env, {
    NX_DAEMON: 'false',
    NX_TUI: 'false',
    NX_NO_CLOUD: 'true',
    NX_CACHE_DIRECTORY: join(root, 'nx-cache'),
    BMAE_CACHE_DIR: join(root, 'bmae-cache'),
    BMAE_DATA: join(root, 'data'),
  });

  /** @returns the combined output; fails the test with it when Nx fails */
  function nxRun(): string {
    const result = spawnSync(process.execPath, [join(REPO, 'node_modules', 'nx', 'bin', 'nx.js'), 'run', 'experiments:mae-ema:smoke', '--output-style=static'], {
      cwd: workspace,
      env,
      encoding: 'utf8',
      timeout: 300_000,
    });
    // Without colours: an Nx run that runs this test forces them on for its children.
    const output = `${result.stdout}\n${result.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
    if (result.status !== 0) throw new Error(`nx run failed (${result.status ?? result.signal}):\n${output}`);
    return output;
  }

  const cached = (output: string, task: string) => new RegExp(`> nx run ${task}\\s+\\[(local cache|existing outputs match the cache, left as is)\\]`).test(output);
  const ran = (output: string, task: string) => new RegExp(`> nx run ${task}\\s*\\n`).test(output);

  beforeAll(() => {
    copyWorkspace(workspace);
    writeSyntheticCifar(join(root, 'data'));
  });

  it('runs every stage, serves a second run from the cache, re-runs only linprobe and summary after a linear-probe change, and everything after a trainers change', () => {
    const first = nxRun();
    for (const task of STAGE_TASKS) expect(ran(first, task)).toBe(true);
    // Six tasks in a row, the report last: no task may leave listeners on the Nx process (see .env).
    expect(first).not.toContain('MaxListenersExceededWarning');
    const runs = join(workspace, 'runs', 'smoke', 'mae-ema');
    for (const path of ['pretrain/stage.json', 'pretrain/seed-0/latest.json', 'pretrain/seed-0/metrics.jsonl', 'linprobe/seed-0.json', 'knn/seed-0.json', 'finetune/seed-0.json', 'summary/summary.json']) {
      expect(existsSync(join(runs, path))).toBe(true);
    }
    const summary = JSON.parse(readFileSync(join(runs, 'summary', 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ experiment: 'mae-ema', profile: 'smoke', seeds: 1 });
    expect(summary.results.linprobe.n).toBe(1);
    expect(summary.lossCurve).toHaveLength(2 * 5); // 2 epochs, 5 points each
    expect(first).toContain(`report: ${join(workspace, 'runs', 'smoke', 'report.md')}`);
    // In smoke's 2 epochs EMA-MAE (WSE 5) never leaves pixels: the report names it in a note instead of a
    // row, and draws no figure of it (the figures' PNG path: packages/experiments/src/commands/report.test.ts).
    const report = readFileSync(join(workspace, 'runs', 'smoke', 'report.md'), 'utf8');
    expect(report).toContain("- mae-ema: its target never bootstrapped within this profile's 2 epochs (ema: pixels, 0 updates), so it is mae under another name");
    expect(report).toContain('| mae-ema | '); // its stage times

    const second = nxRun();
    for (const task of STAGE_TASKS) expect(cached(second, task)).toBe(true);
    expect(second).toContain('Nx read the output from the cache instead of running the command for 5 out of 6 tasks');

    const profileFile = join(workspace, 'packages', 'experiments', 'profiles', 'smoke.json');
    const profile = JSON.parse(readFileSync(profileFile, 'utf8'));
    profile.linprobe.epochs += 1;
    writeFileSync(profileFile, JSON.stringify(profile, null, 2));
    const third = nxRun();
    for (const stage of ['pretrain', 'finetune', 'knn']) expect(cached(third, `experiments:mae-ema-${stage}:smoke`)).toBe(true);
    for (const stage of ['linprobe', 'summary']) expect(ran(third, `experiments:mae-ema-${stage}:smoke`)).toBe(true);
    const record = JSON.parse(readFileSync(join(runs, 'linprobe', 'seed-0.json'), 'utf8'));
    expect(record.settings.epochs).toBe(profile.linprobe.epochs);

    // A change to the trainers' production sources (a test file would not count) re-runs every stage.
    const trainerSource = join(workspace, 'packages', 'trainers', 'src', 'pretrain.ts');
    writeFileSync(trainerSource, `${readFileSync(trainerSource, 'utf8')}\n// touched by the e2e test\n`);
    const fourth = nxRun();
    for (const task of STAGE_TASKS) expect(ran(fourth, task)).toBe(true);
  });
});
