/**
 * The `bmae` command. Each sub-command lives in its own module under ./commands and adds itself
 * to the program through `register(program)`. Only the module of the command being run is loaded
 * (all of them for help or an unknown command), so a light command starts fast.
 */
import { Command } from 'commander';
import { commandLoaders } from './commands';

async function main(argv: string[]): Promise<void> {
  const program = new Command('bmae').description('Bootstrap Masked Autoencoders on CIFAR-10').showHelpAfterError();
  const requested = argv[2];
  const loaders = requested !== undefined && Object.hasOwn(commandLoaders, requested) ? [commandLoaders[requested]] : Object.values(commandLoaders);
  for (const load of loaders) load().register(program);
  await program.parseAsync(argv);
}

let settled = false;
main(process.argv)
  .catch((error: unknown) => {
    console.error(`bmae: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  })
  .finally(() => (settled = true));

// Node exits with code 0 when nothing is left to wait for, even if the command's promise never settled;
// a stage that did that would count as done for Nx without having run. Say so and fail instead.
process.once('beforeExit', () => {
  if (settled) return;
  console.error('bmae: the command stopped before it finished (nothing left to wait for): this is a bug in bmae');
  process.exitCode = 1;
});
