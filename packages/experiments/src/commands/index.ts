// Every sub-command of `bmae`, one module each; a module exports `register(program)`.
// Adding a command: write ./<name>.ts and list its loader here under the command's name.
// Loaders are lazy (a plain require when called) so that `bmae data inspect` does not pay for
// loading TensorFlow.js.
import type { Command } from 'commander';

export interface CommandModule {
  register(program: Command): void;
}

export const commandLoaders: Readonly<Record<string, () => CommandModule>> = {
  init: () => require('./init') as typeof import('./init'),
  embed: () => require('./embed') as typeof import('./embed'),
  data: () => require('./data') as typeof import('./data'),
  pretrain: () => require('./pretrain') as typeof import('./pretrain'),
  linprobe: () => require('./linprobe') as typeof import('./linprobe'),
  knn: () => require('./knn') as typeof import('./knn'),
  finetune: () => require('./finetune') as typeof import('./finetune'),
  stage: () => require('./stage') as typeof import('./stage'),
  report: () => require('./report') as typeof import('./report'),
  run: () => require('./run') as typeof import('./run'),
  submit: () => require('./submit') as typeof import('./submit'),
  jobs: () => require('./jobs') as typeof import('./jobs'),
  setup: () => require('./setup') as typeof import('./setup'),
  backends: () => require('./backends') as typeof import('./backends'),
};
