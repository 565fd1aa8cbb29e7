/**
 * Builds the native binding of `@tensorflow/tfjs-node` (or `-gpu`) against the libraries of a
 * TensorFlow pip wheel (./wheel.ts), and checks that it loads.
 *
 * tfjs-node's binding.gyp expects `deps/include` (the C API headers) and `deps/lib/libtensorflow.so`
 * + `libtensorflow_framework.so`; the wheel has the same API as `libtensorflow_cc.so.2`, so deps/
 * holds symlinks into the cache and node-gyp links against them. The linked names are the wheel's
 * sonames (libtensorflow_cc.so.2, libtensorflow_framework.so.2), which deps/lib does not hold, so an
 * extra rpath to the wheel's real folder finds them at run time: there `$ORIGIN` is the wheel's folder
 * and TensorFlow's own relative paths (e.g. to the nvidia/ CUDA wheels beside it) resolve.
 *
 * tfjs-node's loader opens the file node-pre-gyp's `find` names (lib/napi-v8/tfjs_binding.node on
 * Node 20); we ask it rather than guess. `npm ci` deletes node_modules, binding included: the set-up
 * then rebuilds from the cached wheel.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TfjsNodeLocation, TfjsNodePackageName } from '@bmae/vit-model';
import { LIBRARIES, type InstalledWheel } from './wheel';

/** Written beside the built binding: which wheel it was built against (a rebuild is needed when it differs). */
export interface BindingRecord {
  package: TfjsNodePackageName;
  tfjsNode: string;
  wheelDir: string;
  tensorflow: string;
  builtAt: string;
  buildSeconds: number;
}

const RECORD_NAME = 'bmae-binding.json';

export function readBindingRecord(location: TfjsNodeLocation): BindingRecord | undefined {
  const file = path.join(path.dirname(location.bindingPath), RECORD_NAME);
  return fs.existsSync(file) && fs.existsSync(location.bindingPath) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as BindingRecord) : undefined;
}

/** deps/include and deps/lib of the package, as symlinks into the wheel folder (replacing what was there). */
export function linkDeps(location: TfjsNodeLocation, wheel: Pick<InstalledWheel, 'libDir'>): void {
  const deps = path.join(location.dir, 'deps');
  fs.rmSync(deps, { recursive: true, force: true });
  fs.mkdirSync(path.join(deps, 'lib'), { recursive: true });
  fs.symlinkSync(path.join(wheel.libDir, 'include'), path.join(deps, 'include'), 'dir');
  const [cc, framework] = LIBRARIES;
  fs.symlinkSync(path.join(wheel.libDir, cc), path.join(deps, 'lib', 'libtensorflow.so'));
  fs.symlinkSync(path.join(wheel.libDir, framework), path.join(deps, 'lib', 'libtensorflow_framework.so'));
}

/** node-gyp's `--nodedir`: the running node's own headers when installed (Debian: /usr/include/node), so nothing is downloaded. */
function nodeDirArgs(): string[] {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (process.env.npm_config_nodedir) return [];
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

/**
 * Links deps/ and builds the binding with node-gyp (log in <wheel>/build-<package>.log), then writes
 * the binding record. Throws with the first compiler error and the log's path.
 */
export function buildBinding(location: TfjsNodeLocation, wheel: Pick<InstalledWheel, 'dir' | 'libDir' | 'record'>, log: (line: string) => void): BindingRecord {
  linkDeps(location, wheel);
  // Absolute, as node-pre-gyp passes it: gyp resolves a relative one against build/.
  const modulePath = path.dirname(location.bindingPath);
  const napiVersion = /napi-v(\d+)$/.exec(modulePath)?.[1];
  if (!napiVersion) throw new Error(`cannot read the N-API version from ${location.bindingPath}`);
  const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [process.cwd(), __dirname] });
  const args = [nodeGyp, 'rebuild', ...nodeDirArgs(), '--jobs=1', '--module_name=tfjs_binding', `--module_path=${modulePath}`, `--napi_build_version=${napiVersion}`];
  const logFile = path.join(wheel.dir, `build-${location.name.replace('@tensorflow/', '')}.log`);
  log(`setup: building ${location.name} ${location.version}'s binding against TensorFlow ${wheel.record.tensorflow} (node-gyp, log ${logFile})`);
  const started = performance.now();
  // The extra rpath: see the module comment. node-gyp's make files append LDFLAGS to the link line.
  const env = { ...process.env, LDFLAGS: `${process.env.LDFLAGS ?? ''} -Wl,-rpath,${wheel.libDir}`.trim() };
  const result = spawnSync(process.execPath, args, { cwd: location.dir, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `$ node ${args.slice(1).join(' ')}\n${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
  fs.writeFileSync(logFile, output);
  if (result.status !== 0 || !fs.existsSync(location.bindingPath)) {
    const firstError = output.split('\n').find((line) => /error|not found|No such file/i.test(line)) ?? `exit code ${result.status}`;
    throw new Error(`building ${location.name}'s binding failed: ${firstError.trim()} (full log: ${logFile}). It needs g++, make and python3.`);
  }
  const record: BindingRecord = {
    package: location.name,
    tfjsNode: location.version,
    wheelDir: wheel.dir,
    tensorflow: wheel.record.tensorflow,
    builtAt: new Date().toISOString(),
    buildSeconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  };
  fs.writeFileSync(path.join(path.dirname(location.bindingPath), RECORD_NAME), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}
