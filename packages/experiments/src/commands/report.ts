/**
 * `bmae report [--profile P] [--experiment E | --sweep k|tau|wse]`: gathers every finished
 * experiment of a profile into runs/<profile>/report.md + report.json (+ figures) and prints the
 * rows asked for. What the Nx targets `report`, `<experiment>` and `sweep-<param>` run.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import writeFileAtomic from 'write-file-atomic';
import { loadProfile, profileNames, SWEEP_PARAMS, type SweepParam } from '../experiment';
import { renderFigures } from '../figures';
import { buildReport, readSummaries, sweepPoints, type Report } from '../report';
import { renderMarkdown, resultLine } from '../report-markdown';
import { readTargetHistories } from '../report-targets';
import { runsRoot } from '../stage';

export interface ReportCommandOptions {
  profile: string;
  experiment?: string;
  sweep?: string;
  runsDir?: string;
  figures?: boolean;
}

/** Writes report.json and report.md into the profile's runs folder. @returns the report.md path */
function writeReport(profileDir: string, report: Report): string {
  writeFileAtomic.sync(join(profileDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const md = join(profileDir, 'report.md');
  writeFileAtomic.sync(md, renderMarkdown(report));
  return md;
}

export async function runReport(options: ReportCommandOptions, print: (line: string) => void = (l) => console.log(l)): Promise<string> {
  loadProfile(options.profile);
  if (options.sweep !== undefined && !(SWEEP_PARAMS as readonly string[]).includes(options.sweep)) {
    throw new Error(`--sweep ${options.sweep}: choose one of ${SWEEP_PARAMS.join(', ')}`);
  }
  const profileDir = join(options.runsDir ?? runsRoot(), options.profile);
  mkdirSync(profileDir, { recursive: true });
  const summaries = readSummaries(profileDir);
  if (options.experiment !== undefined && !summaries.some((s) => s.experiment === options.experiment)) {
    throw new Error(`experiment ${options.experiment} has no summary in ${profileDir}: run npx nx run experiments:${options.experiment}:${options.profile}`);
  }
  const report = buildReport(options.profile, summaries, readTargetHistories(profileDir, summaries));
  report.figures = options.figures === false ? [] : await renderFigures(profileDir, report);
  const md = writeReport(profileDir, report);
  if (options.experiment !== undefined) print(resultLine(report, options.experiment));
  else if (options.sweep !== undefined) {
    // Every member, also those the report leaves out (their line says why).
    for (const p of sweepPoints(summaries, options.sweep as SweepParam)) print(`${options.sweep} = ${p.value}: ${resultLine(report, p.experiment)}`);
  } else for (const s of summaries) print(resultLine(report, s.experiment));
  print(`report: ${md}`);
  return md;
}

export function register(program: Command): void {
  program
    .command('report')
    .description('gather the finished experiments of a profile into runs/<profile>/report.md, report.json and figures')
    .option('--profile <name>', profileNames().join(', '), 'quick')
    .option('--experiment <name>', "print this experiment's results")
    .option('--sweep <param>', `print one sweep (${SWEEP_PARAMS.join(', ')})`)
    .option('--runs-dir <dir>', 'runs folder (default: env BMAE_RUNS_DIR, else <workspace>/runs)')
    .option('--no-figures', 'skip the PNG figures')
    // `nx run experiments:<name> --seeds=3` forwards the flag along the chain, to this command too.
    .option('--seeds <n>', 'ignored (each summary records its own seeds)')
    .action(async (options: ReportCommandOptions) => {
      await runReport(options);
    });
}
