'use strict';
/**
 * A jest reporter that writes the run's counts, and nothing else, to the file named by
 * POLLARIX_JEST_COUNTS, for scripts/run.js's "N passed, N failed" line. jest's own `--json` report
 * serialises every failure's details, and a failure whose error holds a circular structure (an HTTP
 * response with its request) made it throw: the run then reported "0 passed, 1 failed".
 */
const fs = require('node:fs');

class CountReporter {
  onRunComplete(_contexts, results) {
    const file = process.env.POLLARIX_JEST_COUNTS;
    if (!file) return;
    // A suite that failed without a failed test did not compile, or crashed.
    const crashedSuites = results.testResults.filter((suite) => suite.failureMessage && suite.numFailingTests === 0).length;
    fs.writeFileSync(file, JSON.stringify({ passed: results.numPassedTests, failed: results.numFailedTests, crashedSuites }));
  }
}

module.exports = CountReporter;
