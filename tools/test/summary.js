#!/usr/bin/env node
// Totals the per-project jest counts (written by results-reporter.js) into one closing line,
// "N passed, N failed, N skipped", and fails when any test failed or a project wrote no counts.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '../..');
const packagesDir = path.join(root, 'packages');
const total = { passed: 0, failed: 0, skipped: 0 };
const missing = [];
// Every package, and the end-to-end tests under test/.
const dirs = fs.readdirSync(packagesDir).sort().map((name) => [name, path.join(packagesDir, name)]).concat([['e2e', path.join(root, 'test')]]);
for (const [name, dir] of dirs) {
  if (!fs.existsSync(path.join(dir, 'jest.config.js'))) continue;
  const file = path.join(dir, '.test-results.json');
  if (!fs.existsSync(file)) {
    missing.push(name);
    continue;
  }
  const counts = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const key of Object.keys(total)) total[key] += counts[key];
}
if (missing.length) console.error(`test summary: no results from ${missing.join(', ')}`);
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 || missing.length > 0 ? 1 : 0);
