/**
 * The `bmae` command. Each sub-command lives in its own module under ./commands and adds itself
 * to the program through `register(program)`; this file only runs them.
 */
import { Command } from 'commander';
import { commandRegistrations } from './commands';

const program = new Command('bmae').description('Bootstrap Masked Autoencoders on CIFAR-10').showHelpAfterError();
for (const register of commandRegistrations) register(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`bmae: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
