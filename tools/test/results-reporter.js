// A jest reporter that writes the run's counts to <project>/.test-results.json. Nx caches that
// file as the test target's output, so tools/test/summary.js can total every project's tests
// even when Nx replays a cached run.
const fs = require('node:fs');
const path = require('node:path');

class ResultsReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const counts = {
      passed: results.numPassedTests,
      failed: results.numFailedTests,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    const file = path.join(this.rootDir, '.test-results.json');
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(counts) + '\n');
    fs.renameSync(`${file}.tmp`, file);
  }
}

module.exports = ResultsReporter;
