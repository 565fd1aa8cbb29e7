#!/usr/bin/env node
// Builds the native addon with node-gyp into build/ (gitignored). Run by the root `postinstall`
// (so `npm ci` on a fresh clone builds it: npm 11 does not run workspace packages' own install
// scripts unless approved) and by `npm run build:addon -w @bmae/tfjs-backend-native`.
// Never fails the install: without a compiler it prints why and exits 0, and loading the package
// then throws an error that points at build/native-build.log. `--strict` makes a failed build exit 1
// (for developers). BMAE_SKIP_NATIVE=1 skips the build.
//
// GEMM: OpenBLAS when its headers (cblas.h + openblas_config.h) and library (libopenblas.so) are
// found, else the built-in SGEMM (native/gemm_builtin.cc), so the addon builds wherever g++ does.
// BMAE_NATIVE_BLAS=builtin|openblas forces one; a forced openblas that is not found is an error
// (exit 1) naming what is missing. BMAE_OPENBLAS_INCLUDE_DIRS / BMAE_OPENBLAS_LIB_DIRS (':'-separated)
// replace the probe's search paths (point them at an empty folder to simulate a machine without it).
// `--out DIR` builds a copy of the sources in DIR (DIR/build/Release/bmae_native.node; load it with
// BMAE_NATIVE_ADDON=that path), leaving the package's own build alone: CI tests the builtin variant so.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const outIndex = process.argv.indexOf('--out');
const workDir = outIndex > 0 ? path.resolve(process.argv[outIndex + 1]) : pkgDir;
const buildDir = path.join(workDir, 'build');
const addon = path.join(buildDir, 'Release', 'bmae_native.node');
const log = path.join(buildDir, 'native-build.log');
const stamp = path.join(buildDir, 'native-build.json');
const strict = process.argv.includes('--strict');
const force = process.argv.includes('--force');

function done(ok, message, exitCode = ok || !strict ? 0 : 1) {
  console.log(`@bmae/tfjs-backend-native: ${message}`);
  process.exit(exitCode);
}

if (process.env.BMAE_SKIP_NATIVE === '1') done(true, 'BMAE_SKIP_NATIVE=1, native addon not built');

const dirs = (env, defaults) => (process.env[env] !== undefined ? process.env[env].split(':').filter(Boolean) : defaults);
const triplet = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';

/** Where OpenBLAS is: { include, lib } (lib '' = the linker's default path), or { missing: [what] }. */
function probeOpenBlas() {
  const includeDirs = dirs('BMAE_OPENBLAS_INCLUDE_DIRS', [
    `/usr/include/${triplet}/openblas-pthread`, `/usr/include/${triplet}/openblas-openmp`, `/usr/include/${triplet}`,
    '/usr/include/openblas', '/usr/include', '/usr/local/include', '/opt/homebrew/opt/openblas/include',
  ]);
  const libDirs = dirs('BMAE_OPENBLAS_LIB_DIRS', [
    `/usr/lib/${triplet}/openblas-pthread`, `/usr/lib/${triplet}`, '/usr/lib64', '/usr/lib', '/usr/local/lib', '/opt/homebrew/opt/openblas/lib',
  ]);
  const include = includeDirs.find((d) => fs.existsSync(path.join(d, 'cblas.h')) && fs.existsSync(path.join(d, 'openblas_config.h')));
  const lib = libDirs.find((d) => ['libopenblas.so', 'libopenblas.dylib'].some((f) => fs.existsSync(path.join(d, f))));
  const missing = [];
  if (include === undefined) missing.push(`OpenBLAS headers (cblas.h + openblas_config.h in ${includeDirs.join(', ') || 'no folder'})`);
  if (lib === undefined) missing.push(`the OpenBLAS library (libopenblas.so in ${libDirs.join(', ') || 'no folder'})`);
  return missing.length ? { missing } : { include, lib };
}

const requested = process.env.BMAE_NATIVE_BLAS ?? '';
if (!['', 'builtin', 'openblas'].includes(requested)) done(false, `BMAE_NATIVE_BLAS must be builtin or openblas, got '${requested}'`, 1);
const openblas = requested === 'builtin' ? { missing: ['not probed: BMAE_NATIVE_BLAS=builtin'] } : probeOpenBlas();
if (requested === 'openblas' && openblas.missing)
  done(false, `BMAE_NATIVE_BLAS=openblas but OpenBLAS was not found: missing ${openblas.missing.join(' and ')} (Debian: apt-get install libopenblas-dev)`, 1);
const blas = openblas.missing ? 'builtin' : 'openblas';
const why = openblas.missing ? (requested ? ' (forced)' : ` (no OpenBLAS: missing ${openblas.missing.join(' and ')})`) : ` (${openblas.include})`;

// Up to date: the addon is newer than every source file and binding.gyp.
// ... and was built with the same GEMM.
const sources = [path.join(pkgDir, 'binding.gyp'), ...fs.readdirSync(path.join(pkgDir, 'native')).map((f) => path.join(pkgDir, 'native', f))];
const previous = fs.existsSync(stamp) ? JSON.parse(fs.readFileSync(stamp, 'utf8')).blas : undefined;
if (!force && fs.existsSync(addon) && previous === blas) {
  const built = fs.statSync(addon).mtimeMs;
  if (sources.every((s) => fs.statSync(s).mtimeMs < built)) done(true, `native addon up to date, ${blas} GEMM (${path.relative(process.cwd(), addon)})`);
}

// A separate build folder gets its own copy of binding.gyp and native/ (node-gyp builds in cwd/build).
if (workDir !== pkgDir) {
  fs.mkdirSync(workDir, { recursive: true });
  fs.copyFileSync(path.join(pkgDir, 'binding.gyp'), path.join(workDir, 'binding.gyp'));
  fs.cpSync(path.join(pkgDir, 'native'), path.join(workDir, 'native'), { recursive: true });
}

let nodeGyp;
try {
  nodeGyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [pkgDir] });
} catch {
  done(false, 'node-gyp is not installed; native addon not built');
}

// Use the headers of the running node when they are installed (Debian's nodejs puts them in
// /usr/include/node): node-gyp would otherwise try to download them.
const args = [nodeGyp, 'rebuild', `--bmae_blas=${blas}`];
if (blas === 'openblas') args.push(`--bmae_openblas_include=${openblas.include}`, `--bmae_openblas_lib=${openblas.lib}`);
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);

const started = Date.now();
// NODE_PATH: binding.gyp resolves node-addon-api from the build folder, which --out may put elsewhere.
const nodePath = [path.join(pkgDir, 'node_modules'), path.resolve(pkgDir, '..', '..', 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
const result = spawnSync(process.execPath, args, { cwd: workDir, encoding: 'utf8', env: { ...process.env, NODE_PATH: nodePath } });
fs.mkdirSync(buildDir, { recursive: true });
const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
fs.writeFileSync(log, `$ node ${args.slice(1).join(' ')}\n${output}`);
const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (result.status === 0 && fs.existsSync(addon)) {
  fs.writeFileSync(stamp, JSON.stringify({ blas }) + '\n');
  done(true, `native addon built in ${seconds}s with ${blas} GEMM${why} (${path.relative(process.cwd(), addon)})`);
}
if (fs.existsSync(stamp)) fs.rmSync(stamp);
const firstError = output.split('\n').find((l) => /error|not found|No such file/i.test(l)) ?? `exit code ${result.status}`;
done(false, `native addon NOT built (${firstError.trim()}); the 'native' backend will be unavailable. Full log: ${log}`);
