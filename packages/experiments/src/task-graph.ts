/**
 * The Nx task graph of a target, read from Nx itself: the same stages, dependencies and task hashes
 * `nx run experiments:<target>:<profile>` would use, so a scheduler (local workers, Slurm) runs exactly
 * what Nx would and decides "already done" with Nx's own cache key.
 *
 * It calls Nx's project graph, task graph and task hasher (nx 21; the last two are not part of
 * @nx/devkit's public API, so this module is the one place that knows where they live). The hasher runs
 * in this process (NX_DAEMON=false), which also runs every stage's runtime input (stage-key.js).
 */
import { join } from 'node:path';

/** One task of the graph: a stage (cached) or a report (not cached). */
export interface GraphTask {
  /** Nx task id, e.g. experiments:mae-k1-pretrain:smoke */
  id: string;
  project: string;
  target: string;
  configuration: string | undefined;
  /** Nx's task hash: the stage's cache key */
  hash: string;
  /** whether Nx caches it (the stages do; reports do not) */
  cache: boolean;
  /** ids of the tasks it depends on */
  dependsOn: string[];
  /** its declared outputs, absolute (a stage's folder in the run folder) */
  outputs: string[];
  /** the CLI overrides it is run with (e.g. ['--seeds=2']), forwarded along the chain */
  overrideArgs: string[];
}

export interface TaskGraphRequest {
  workspaceRoot: string;
  /** e.g. experiments */
  project: string;
  /** e.g. sweep-k */
  target: string;
  /** Nx configuration, i.e. the profile (default: the target's default configuration) */
  configuration?: string;
  /** overrides as on the command line, e.g. { seeds: 2 } */
  overrides?: Record<string, string | number | boolean>;
}

/** The overrides as Nx's command line parses them (yargs values plus the raw arguments), so hashes match. */
function nxOverrides(overrides: Record<string, string | number | boolean>): { args: string[]; parsed: Record<string, unknown> } {
  const args = Object.entries(overrides).map(([key, value]) => `--${key}=${value}`);
  return { args, parsed: { ...overrides, __overrides_unparsed__: args } };
}

/** The task graph of `project:target[:configuration]`, in dependency order (dependencies first). */
export async function readTaskGraph(request: TaskGraphRequest): Promise<GraphTask[]> {
  const previousCwd = process.cwd();
  process.env.NX_DAEMON = 'false';
  process.chdir(request.workspaceRoot); // Nx resolves the workspace from the working directory
  try {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const devkit = require('nx/src/devkit-exports') as typeof import('nx/src/devkit-exports');
    const { readNxJson } = require('nx/src/config/nx-json') as typeof import('nx/src/config/nx-json');
    const { createTaskGraph, mapTargetDefaultsToDependencies } = require('nx/src/tasks-runner/create-task-graph') as typeof import('nx/src/tasks-runner/create-task-graph');
    const { createTaskHasher } = require('nx/src/hasher/create-task-hasher') as typeof import('nx/src/hasher/create-task-hasher');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const projectGraph = await devkit.createProjectGraphAsync({ exitOnError: false });
    const node = projectGraph.nodes[request.project];
    if (!node) throw new Error(`Nx project "${request.project}" does not exist (projects: ${Object.keys(projectGraph.nodes).sort().join(', ')})`);
    if (!node.data.targets?.[request.target]) {
      throw new Error(`target "${request.target}" of project ${request.project} does not exist: \`npx nx show project ${request.project}\` lists them`);
    }
    const configs = Object.keys(node.data.targets[request.target].configurations ?? {});
    if (request.configuration !== undefined && !configs.includes(request.configuration)) {
      throw new Error(`configuration (profile) "${request.configuration}" of ${request.project}:${request.target} does not exist: choose one of ${configs.join(', ')}`);
    }
    const nxJson = readNxJson();
    const overrides = nxOverrides(request.overrides ?? {});
    const taskGraph = createTaskGraph(projectGraph, mapTargetDefaultsToDependencies(nxJson.targetDefaults), [request.project], [request.target], request.configuration, overrides.parsed);
    const tasks = Object.values(taskGraph.tasks);
    const hasher = createTaskHasher(projectGraph, nxJson);
    const hashes = await hasher.hashTasks(tasks, taskGraph, process.env);
    const result = tasks.map((task, i): GraphTask => {
      const targetConfig = projectGraph.nodes[task.target.project].data.targets![task.target.target];
      return {
        id: task.id,
        project: task.target.project,
        target: task.target.target,
        configuration: task.target.configuration,
        hash: hashes[i].value,
        cache: task.cache ?? targetConfig.cache === true,
        dependsOn: [...(taskGraph.dependencies[task.id] ?? [])],
        outputs: task.outputs.map((output) => join(request.workspaceRoot, output)),
        overrideArgs: overrides.args,
      };
    });
    return topologicalOrder(result);
  } finally {
    process.chdir(previousCwd);
  }
}

/** Tasks ordered so that every task comes after its dependencies (ties by id, for stable output). */
export function topologicalOrder(tasks: GraphTask[]): GraphTask[] {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const ordered: GraphTask[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (task: GraphTask, path: string[]): void => {
    if (state.get(task.id) === 'done') return;
    if (state.get(task.id) === 'visiting') throw new Error(`the task graph has a cycle: ${[...path, task.id].join(' -> ')}`);
    state.set(task.id, 'visiting');
    for (const dep of [...task.dependsOn].sort()) {
      const depTask = byId.get(dep);
      if (!depTask) throw new Error(`task ${task.id} depends on ${dep}, which is not in the graph`);
      visit(depTask, [...path, task.id]);
    }
    state.set(task.id, 'done');
    ordered.push(task);
  };
  for (const task of [...tasks].sort((a, b) => a.id.localeCompare(b.id))) visit(task, []);
  return ordered;
}

/** The command that runs one task of the graph alone, through Nx, with the graph's overrides. */
export function taskCommand(task: GraphTask): string[] {
  const id = [task.project, task.target, task.configuration].filter((part) => part !== undefined).join(':');
  return ['npx', '--no-install', 'nx', 'run', id, '--excludeTaskDependencies', '--outputStyle=stream', ...task.overrideArgs];
}
