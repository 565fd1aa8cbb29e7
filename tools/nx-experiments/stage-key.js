#!/usr/bin/env node
// @ts-check
/**
 * The Nx runtime input of a stage target: `node tools/nx-experiments/stage-key.js <experiment> <stage>`
 * prints one line that changes exactly when the stage must re-run for reasons the source files do
 * not show: its configuration section under each profile (Nx adds the configuration name itself) and
 * the data it trains on (env BMAE_DATA and a fingerprint of that file or folder).
 * Run from the workspace root (Nx runs runtime inputs there). Must stay fast: it runs for every
 * stage task Nx hashes.
 */
const { join } = require('node:path');
const { readJsonFolder, readJsonObject, stageKey } = require('./stage-keys');
const { dataFingerprint } = require('./data-fingerprint');
const { EXPERIMENTS_DIR, PROFILES_DIR } = require('./layout');

function main() {
  const [experimentName, stage] = process.argv.slice(2);
  if (!experimentName || !stage) throw new Error('usage: stage-key.js <experiment> <stage>');
  const experiment = readJsonObject(join(EXPERIMENTS_DIR, `${experimentName}.json`));
  const profiles = readJsonFolder(PROFILES_DIR);
  const keys = Object.entries(profiles).map(([name, profile]) => `${name}=${stageKey(experiment, profile, stage)}`);
  process.stdout.write(`${keys.join(' ')} data=${dataFingerprint(process.env)}\n`);
}

main();
