#!/usr/bin/env node
// Entry point of the `bmae` command: runs the TypeScript sources through tsx, so there is no build step.
require('tsx/cjs');
require('../src/cli.ts');
