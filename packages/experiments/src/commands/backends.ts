/**
 * `bmae backends [--json]`: every TensorFlow.js backend in selection order, whether it loads on this
 * machine and why not, and what it computes on (CPU model or GPU name, threads, BLAS, TensorFlow).
 */
import type { Command } from 'commander';
import { describeDevice, listBackends } from '@bmae/vit-model';

export function register(program: Command): void {
  program
    .command('backends')
    .description('list the backends: which load here and why not, their device and threads; the one auto selection picks')
    .option('--json', 'print JSON instead of a table')
    .action(async (options: { json?: boolean }) => {
      const { backends, auto } = await listBackends();
      const forced = process.env.BMAE_BACKEND || undefined;
      if (options.json) {
        console.log(JSON.stringify({ auto, forced: forced ?? null, backends }, null, 2));
        return;
      }
      for (const b of backends) {
        const mark = b.name === auto ? '*' : ' ';
        console.log(`${mark} ${b.name.padEnd(13)} ${b.loads ? `loads   ${describeDevice(b.device!)}${b.device?.blas ? `; ${b.device.blas}` : ''}` : `no      ${b.reason}`}`);
      }
      console.log(`* auto selection: ${auto ?? 'none'}${forced ? ` (BMAE_BACKEND=${forced} overrides it)` : ''}`);
    });
}
