// Global setup of the trainer tests: make sure a Python with PyTorch is there (Debian's python3-torch, with
// OpenBLAS), the way the browser tests make sure Chromium is. PYTHON overrides which python is used.
import { execSync } from 'node:child_process';
import { findPython, PythonMissingError } from '../../src/python';

export default function setup() {
  try {
    findPython();
    return;
  } catch (e) {
    if (!(e instanceof PythonMissingError) || process.env.PYTHON) throw e;
  }
  console.log("[tests] no python3 with torch: installing Debian's python3-torch libopenblas0-pthread (apt-get)…");
  try {
    execSync(
      'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch libopenblas0-pthread',
      {
        stdio: 'inherit',
        timeout: 900_000,
      },
    );
  } catch {
    throw new Error('could not install python3-torch; install PyTorch for python3 or set PYTHON');
  }
  findPython();
}
