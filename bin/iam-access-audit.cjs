#!/usr/bin/env node
// Runs the TypeScript command-line tool without a build step: tsx compiles it on load.
require('../local/quiet-node20-warning.cjs');
require('tsx/cjs');
require('./iam-access-audit.ts');
