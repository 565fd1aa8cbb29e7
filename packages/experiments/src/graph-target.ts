/**
 * The target a scheduling command (run, submit, jobs) is about, as the user names it: `sweep-k` or
 * `experiments:sweep-k`, a configuration (the profile) and the overrides forwarded along the chain.
 */
import { resolve } from 'node:path';
import { parseInteger } from './cli-options';
import { readTaskGraph, type GraphTask } from './task-graph';

/** The workspace this command belongs to (packages/experiments/src -> the root). */
export const WORKSPACE_ROOT = resolve(__dirname, '../../..');

export interface TargetOptions {
  configuration?: string;
  seeds?: string;
}

export interface GraphTarget {
  project: string;
  target: string;
  configuration?: string;
  overrides: Record<string, number>;
}

export function parseTarget(spec: string, options: TargetOptions): GraphTarget {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw new Error(`target "${spec}": expected <target>, <project>:<target> or <project>:<target>:<configuration>`);
  const [project, target, configuration] = parts.length === 1 ? ['experiments', parts[0], undefined] : parts;
  if (configuration !== undefined && options.configuration !== undefined && configuration !== options.configuration) {
    throw new Error(`target "${spec}" names configuration ${configuration} but --configuration is ${options.configuration}`);
  }
  const overrides: Record<string, number> = {};
  if (options.seeds !== undefined) overrides.seeds = parseInteger(options.seeds, '--seeds', 1);
  return { project, target, configuration: configuration ?? options.configuration, overrides };
}

export function readGraph(target: GraphTarget): Promise<GraphTask[]> {
  return readTaskGraph({ workspaceRoot: WORKSPACE_ROOT, ...target });
}
