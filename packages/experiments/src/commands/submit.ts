/**
 * `bmae submit <target> --scheduler slurm`: the stages of the target's Nx task graph that are not done,
 * as Slurm jobs with the graph's dependencies (see ../submission.ts). --dry-run prints the batch
 * scripts; --wait polls until every job has ended and exits non-zero when one failed.
 */
import type { Command } from 'commander';
import { parseInteger, parsePositive } from '../cli-options';
import { parseTarget, readGraph, WORKSPACE_ROOT, type TargetOptions } from '../graph-target';
import { batchScript, queryJobs, slurmAvailable } from '../slurm';
import { jobsFolder, planSubmission, readJobs, submitPlan, waitForJobs, type StageState } from '../submission';

interface SubmitOptions extends TargetOptions {
  scheduler: string;
  partition?: string;
  gres?: string;
  time?: string;
  cpusPerTask?: string;
  dryRun?: boolean;
  wait?: boolean;
  poll: string;
}

/** Prints the stages that did not finish, by name with their logs; returns how many. */
export function reportFailures(states: StageState[], log: (line: string) => void): number {
  const failed = states.filter((s) => s.state === 'failed');
  for (const s of failed) log(`FAILED ${s.task.id}: job ${s.job?.jobId} ${s.detail}, log ${s.job?.log}`);
  return failed.length;
}

export function register(program: Command): void {
  program
    .command('submit')
    .description('submit the stages of a target (e.g. sweep-k) that are not done as scheduler jobs, with the Nx graph\'s dependencies')
    .argument('<target>', 'an experiments target (sweep-k, mae-ema, ...) or <project>:<target>[:<configuration>]')
    .option('-c, --configuration <profile>', 'the profile (Nx configuration); default: the target\'s (quick)')
    .option('--seeds <n>', 'seeds 0..n-1, forwarded to every stage')
    .option('--scheduler <name>', 'the scheduler: slurm', 'slurm')
    .option('--partition <name>', 'Slurm partition of every job')
    .option('--gres <spec>', 'Slurm generic resources of every job, e.g. gpu:1')
    .option('--time <limit>', 'Slurm wall-time limit of every job, e.g. 4:00:00')
    .option('--cpus-per-task <n>', 'CPUs of every job (its BMAE_THREADS unless that is set)')
    .option('--dry-run', 'print the batch scripts instead of submitting')
    .option('--wait', 'return when every job has ended; exit 1 if one failed')
    .option('--poll <seconds>', 'how often --wait asks the scheduler', '10')
    .action(async (spec: string, options: SubmitOptions) => {
      if (options.scheduler !== 'slurm') throw new Error(`--scheduler ${options.scheduler}: the only scheduler is slurm (for this machine: bmae run --workers N)`);
      const slurm = {
        partition: options.partition,
        gres: options.gres,
        time: options.time,
        cpusPerTask: options.cpusPerTask === undefined ? undefined : parseInteger(options.cpusPerTask, '--cpus-per-task', 1),
      };
      const poll = parsePositive(options.poll, '--poll');
      const log = (line: string) => console.error(line);
      if (!options.dryRun) {
        const available = slurmAvailable();
        if (!available.ok) throw new Error(`Slurm is not available: ${available.reason}`);
      }
      const graph = await readGraph(parseTarget(spec, options));
      const folder = jobsFolder(WORKSPACE_ROOT);
      const previous = readJobs(folder);
      const states = options.dryRun ? new Map() : queryJobs(Object.values(previous).map((j) => j.jobId));
      const plan = planSubmission(graph, folder, previous, states);
      log(`bmae submit: ${plan.submit.length} stage${plan.submit.length === 1 ? '' : 's'} to submit, ${plan.done.length} done, ${plan.active.length} still queued or running`);
      for (const task of plan.done) log(`done ${task.id} (task hash ${task.hash})`);
      for (const { task, job } of plan.active) log(`in the queue ${task.id}: job ${job.jobId}`);
      if (options.dryRun) {
        for (const planned of plan.submit) {
          // job ids do not exist yet: a dependency is shown as the task id whose job it will be
          console.log(batchScript(planned.task, { ...slurm, workspaceRoot: WORKSPACE_ROOT, log: planned.log, dependencies: planned.waitsFor.map((d) => `<job of ${d}>`) }));
        }
        return;
      }
      submitPlan(plan, { ...slurm, workspaceRoot: WORKSPACE_ROOT, folder, log });
      if (plan.uncached.length > 0) log(`not submitted (not cached, built from the stage folders by \`nx run\`): ${plan.uncached.map((t) => t.id).join(', ')}`);
      if (!options.wait) return;
      const final = await waitForJobs(graph, folder, poll, log);
      const failed = reportFailures(final, log);
      if (failed > 0) {
        log(`${failed} stage${failed === 1 ? '' : 's'} did not finish; \`bmae submit\` again submits only what is not done`);
        process.exitCode = 1;
      } else {
        log('every stage done');
      }
    });
}
