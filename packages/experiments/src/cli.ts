import { Command } from 'commander';

const program = new Command('bmae').description('Bootstrap Masked Autoencoders on CIFAR-10');
program.parseAsync(process.argv);
