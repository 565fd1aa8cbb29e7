#!/usr/bin/env node
// Builds the native addon with node-gyp into build/ (gitignored). Run by the root `postinstall`
// (so `npm ci` on a fresh clone builds it: npm 11 does not run workspace packages' own install
// scripts unless approved) and by `npm run build:addon -w @bmae/tfjs-backend-native`.
// Never fails the install: without a compiler or OpenBLAS it prints why and exits 0, and loading
// the package then throws an error that points at build/native-build.log. `--strict` makes a failed
// build exit 1 (for developers). BMAE_SKIP_NATIVE=1 skips the build.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const buildDir = path.join(pkgDir, 'build');
const addon = path.join(buildDir, 'Release', 'bmae_native.node');
const log = path.join(buildDir, 'native-build.log');
const strict = process.argv.includes('--strict');
const force = process.argv.includes('--force');

function done(ok, message) {
  console.log(`@bmae/tfjs-backend-native: ${message}`);
  process.exit(ok || !strict ? 0 : 1);
}

if (process.env.BMAE_SKIP_NATIVE === '1') done(true, 'BMAE_SKIP_NATIVE=1, native addon not built');

// Up to date: the addon is newer than every source file and binding.gyp.
const sources = [path.join(pkgDir, 'binding.gyp'), ...fs.readdirSync(path.join(pkgDir, 'native')).map((f) => path.join(pkgDir, 'native', f))];
if (!force && fs.existsSync(addon)) {
  const built = fs.statSync(addon).mtimeMs;
  if (sources.every((s) => fs.statSync(s).mtimeMs < built)) done(true, `native addon up to date (${path.relative(process.cwd(), addon)})`);
}

let nodeGyp;
try {
  nodeGyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [pkgDir] });
} catch {
  done(false, 'node-gyp is not installed; native addon not built');
}

// Use the headers of the running node when they are installed (Debian's nodejs puts them in
// /usr/include/node): node-gyp would otherwise try to download them.
const args = [nodeGyp, 'rebuild'];
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);

const started = Date.now();
const result = spawnSync(process.execPath, args, { cwd: pkgDir, encoding: 'utf8', env: process.env });
fs.mkdirSync(buildDir, { recursive: true });
const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
fs.writeFileSync(log, `$ node ${args.slice(1).join(' ')}\n${output}`);
const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (result.status === 0 && fs.existsSync(addon)) done(true, `native addon built in ${seconds}s (${path.relative(process.cwd(), addon)})`);
const firstError = output.split('\n').find((l) => /error|not found|No such file/i.test(l)) ?? `exit code ${result.status}`;
done(false, `native addon NOT built (${firstError.trim()}); the 'native' backend will be unavailable. Full log: ${log}`);
