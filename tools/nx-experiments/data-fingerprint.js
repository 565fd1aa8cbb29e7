// @ts-check
/**
 * A cheap fingerprint of the data a run reads, for the stage keys: the source named by env
 * BMAE_DATA (unset: the official archive, which is checked by MD5 when downloaded).
 * A file: its SHA-256, memoised by absolute path, size and mtime (hashing 130 MB once takes about
 * a second; later calls only stat it). A folder: the hash of its listing (relative paths and
 * sizes), since re-reading 60,000 images for every hash would be slow.
 */
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { homedir } = require('node:os');
const { dirname, join, relative, resolve } = require('node:path');

/** @param {string} file */
function hashFile(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** @param {string} root */
function hashListing(root) {
  const hash = createHash('sha256');
  /** @param {string} dir */
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else hash.update(`${relative(root, path)}\0${statSync(path).size}\n`);
    }
  };
  walk(root);
  return hash.digest('hex');
}

/**
 * @param {NodeJS.ProcessEnv} env reads BMAE_DATA and BMAE_CACHE_DIR
 * @returns "download", "missing:<path>", "file:<sha256>" or "folder:<sha256 of listing>"
 */
function dataFingerprint(env) {
  const spec = env.BMAE_DATA;
  if (!spec || spec === 'download') return 'download';
  const path = resolve(spec.replace(/^~(?=$|\/)/, homedir()));
  if (!existsSync(path)) return `missing:${path}`;
  const stat = statSync(path);
  if (stat.isDirectory()) return `folder:${hashListing(path)}`;
  const memoFile = join(env.BMAE_CACHE_DIR || join(homedir(), '.cache', 'bmae'), 'nx-data-fingerprints.json');
  const memoKey = `${path}\0${stat.size}\0${stat.mtimeMs}`;
  /** @type {Record<string, string>} */
  let memo = {};
  try {
    memo = JSON.parse(readFileSync(memoFile, 'utf8'));
  } catch {
    // no memo yet, or a damaged one: recompute
  }
  if (!memo[memoKey]) {
    memo[memoKey] = hashFile(path);
    try {
      mkdirSync(dirname(memoFile), { recursive: true });
      const temp = `${memoFile}.${process.pid}.tmp`;
      writeFileSync(temp, JSON.stringify(memo));
      renameSync(temp, memoFile);
    } catch {
      // a read-only cache only costs the hash next time
    }
  }
  return `file:${memo[memoKey]}`;
}

module.exports = { dataFingerprint };
