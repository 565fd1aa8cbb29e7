/**
 * `bmae jobs [target]`: each stage's state (queued, running, done, failed, not submitted) from the
 * scheduler, else from its stage folder, with its job id and log.
 */
import type { Command } from 'commander';
import { parseTarget, readGraph, WORKSPACE_ROOT, type TargetOptions } from '../graph-target';
import { jobsFolder, readJobs, stageStates } from '../submission';

export function register(program: Command): void {
  program
    .command('jobs')
    .description('state of each stage of a target\'s graph (queued, running, done, failed) from the scheduler')
    .argument('<target>', 'an experiments target (sweep-k, mae-ema, ...) or <project>:<target>[:<configuration>]')
    .option('-c, --configuration <profile>', 'the profile (Nx configuration); default: the target\'s (quick)')
    .option('--seeds <n>', 'seeds 0..n-1, as submitted')
    .option('--json', 'one JSON object per stage')
    .action(async (spec: string, options: TargetOptions & { json?: boolean }) => {
      const graph = await readGraph(parseTarget(spec, options));
      const states = stageStates(graph, readJobs(jobsFolder(WORKSPACE_ROOT)));
      for (const s of states) {
        if (options.json) console.log(JSON.stringify({ task: s.task.id, state: s.state, detail: s.detail, jobId: s.job?.jobId ?? null, log: s.job?.log ?? null }));
        else console.log(`${s.state.padEnd(13)} ${s.task.id.padEnd(40)} ${s.job ? `job ${s.job.jobId}` : ''}  ${s.detail}${s.job ? `  ${s.job.log}` : ''}`);
      }
    });
}
