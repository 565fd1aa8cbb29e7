// Every sub-command of `bmae`, one module each; a module exports `register(program)`.
// Adding a command: write ./<name>.ts and list its register function here.
import type { Command } from 'commander';
import { register as registerData } from './data';
import { register as registerEmbed } from './embed';
import { register as registerFinetune } from './finetune';
import { register as registerInit } from './init';
import { register as registerKnn } from './knn';
import { register as registerLinprobe } from './linprobe';
import { register as registerPretrain } from './pretrain';
import { register as registerReport } from './report';
import { register as registerStage } from './stage';

export const commandRegistrations: ReadonlyArray<(program: Command) => void> = [
  registerInit,
  registerEmbed,
  registerData,
  registerPretrain,
  registerLinprobe,
  registerKnn,
  registerFinetune,
  registerStage,
  registerReport,
];
