/**
 * Parsing and checking of command-line values shared by `bmae` sub-commands: each bad value fails at once
 * with the option's name and what is wrong, before any long work starts.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import packageJson from '../package.json';

/** The bmae version recorded in checkpoints and run records. */
export const BMAE_VERSION: string = packageJson.version;

/** The command line as typed (arguments with spaces quoted), for provenance records. */
export function commandLine(argv: readonly string[] = process.argv.slice(2)): string {
  return ['bmae', ...argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`))].join(' ');
}

/** An integer option (optionally with a minimum). */
export function parseInteger(value: string, option: string, minimum = -Infinity): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(parsed)) throw new Error(`${option} ${value}: not an integer`);
  if (parsed < minimum) throw new Error(`${option} ${value}: must be at least ${minimum}`);
  return parsed;
}

/** A positive finite number option. */
export function parsePositive(value: string, option: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed <= 0) throw new Error(`${option} ${value}: expected a positive number`);
  return parsed;
}

/** A finite number option >= 0 (rates, weights and probabilities that may be off). */
export function parseNonNegative(value: string, option: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0) throw new Error(`${option} ${value}: expected a number >= 0`);
  return parsed;
}

/** "r,g,b" -> three finite numbers (all positive when `positive`), e.g. per-channel mean or std. */
export function parseRgb(value: string, option: string, positive = false): [number, number, number] {
  const parts = value.split(',').map((part) => part.trim());
  const numbers = parts.map(Number);
  if (parts.length !== 3 || parts.some((part) => part === '') || numbers.some((n) => !Number.isFinite(n))) {
    throw new Error(`${option} ${value}: expected three comma-separated numbers r,g,b`);
  }
  if (positive && numbers.some((n) => n <= 0)) throw new Error(`${option} ${value}: every value must be positive`);
  return numbers as [number, number, number];
}

/** Checks an --out path before any work: the file name ends in `extension` and its folder exists. @returns the absolute path */
export function checkOutputPath(out: string, extension: string): string {
  const path = resolve(out);
  if (!path.endsWith(extension)) throw new Error(`--out ${out}: the file name must end in ${extension}`);
  const folder = dirname(path);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new Error(`--out ${out}: folder ${folder} does not exist`);
  return path;
}
