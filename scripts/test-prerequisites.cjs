#!/usr/bin/env node
/**
 * Runs before `npm test`: finds what the tests drive besides Node, or sets it up, or says exactly what is
 * missing. The tests drive the IAM emulator with the AWS CLI and boto3, store in moto_server's S3, lint
 * the template with cfn-lint, and open the HTML report in a real Chromium.
 *
 * - python3 with boto3, moto_server, cfn-lint and aws: found on PATH, or in the project's own virtual
 *   environment (.venv-test, which the tests put first on their PATH), or installed into it with pip.
 * - Chromium: PUPPETEER_EXECUTABLE_PATH, then the usual paths. It is not installed here: `.ci/run`
 *   installs Debian's package; elsewhere the message says how.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join, delimiter } = require('node:path');
// The tests' own way of finding the browser (local/browser.ts), loaded as the command-line tool loads TypeScript.
require('tsx/cjs');
const { findChromium } = require('../local/browser.ts');

const ROOT = join(__dirname, '..');
const VENV = join(ROOT, '.venv-test');
const VENV_BIN = join(VENV, process.platform === 'win32' ? 'Scripts' : 'bin');
const PIP_PACKAGES = ['boto3', 'moto[server]', 'cfn-lint', 'awscli'];

/** Runs a command quietly; true when it exits 0. */
function works(command, args, path) {
  const result = spawnSync(command, args, { stdio: 'ignore', env: { ...process.env, PATH: path }, timeout: 60_000 });
  return result.status === 0;
}

/** What is missing of the Python tools on this PATH (empty: all there). */
function missingPythonTools(path) {
  const missing = [];
  if (!works('python3', ['--version'], path)) return ['python3', 'boto3', 'moto_server', 'cfn-lint', 'aws'];
  if (!works('python3', ['-c', 'import boto3'], path)) missing.push('boto3');
  if (!works('moto_server', ['--help'], path)) missing.push('moto_server');
  if (!works('cfn-lint', ['--version'], path)) missing.push('cfn-lint');
  if (!works('aws', ['--version'], path)) missing.push('aws');
  return missing;
}

function pythonTools() {
  const path = process.env.PATH ?? '';
  const onPath = missingPythonTools(path);
  if (onPath.length === 0) return { ok: true, note: 'python3 with boto3, moto_server, cfn-lint and aws: on PATH' };
  const withVenv = `${VENV_BIN}${delimiter}${path}`;
  if (existsSync(VENV_BIN) && missingPythonTools(withVenv).length === 0) return { ok: true, note: `python3 tools: in ${VENV}` };
  if (onPath.includes('python3')) {
    return { ok: false, note: 'python3 is missing: install Python 3.9 or later (with venv and pip), then run npm test again' };
  }
  console.log(`test prerequisites: ${onPath.join(', ')} not found; installing ${PIP_PACKAGES.join(', ')} into ${VENV} with pip...`);
  if (!existsSync(VENV_BIN) && !works('python3', ['-m', 'venv', VENV], path)) {
    return { ok: false, note: `could not create a virtual environment at ${VENV} (Debian/Ubuntu: sudo apt-get install -y python3-venv); or install ${onPath.join(', ')} yourself` };
  }
  const pip = spawnSync(join(VENV_BIN, 'python3'), ['-m', 'pip', 'install', '--quiet', ...PIP_PACKAGES], { stdio: 'inherit', timeout: 900_000 });
  if (pip.status !== 0 || missingPythonTools(withVenv).length > 0) {
    return { ok: false, note: `pip could not install ${PIP_PACKAGES.join(', ')} into ${VENV} (is PyPI reachable?); install ${onPath.join(', ')} on PATH yourself` };
  }
  return { ok: true, note: `python3 tools: installed into ${VENV}` };
}

function chromium() {
  try {
    return { ok: true, note: `Chromium: ${findChromium()}` };
  } catch (err) {
    if (err.name !== 'BrowserMissing') throw err;
    return { ok: false, note: err.message };
  }
}

const checks = [pythonTools(), chromium()];
for (const c of checks) console.log(`test prerequisites: ${c.ok ? 'ok' : 'MISSING'}  ${c.note}`);
if (checks.some((c) => !c.ok)) process.exit(1);
