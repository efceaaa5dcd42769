// Global setup for cross-app tests: make sure Debian's Chromium (browser tests) and redis-server
// (cluster tests) are there.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ensureRedisServer } from '../../apps/engine/src/launch/redis';
import { CHROMIUM } from '../support/browser';

export default function setup() {
  // the cluster tests run real Redis servers (Debian's redis-server)
  ensureRedisServer();
  if (existsSync(CHROMIUM)) return;
  console.log(`[tests] ${CHROMIUM} missing: installing Debian's chromium (apt-get)…`);
  try {
    execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', {
      stdio: 'inherit',
      timeout: 600_000,
    });
  } catch {
    throw new Error(`could not install chromium; install it (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`chromium still missing at ${CHROMIUM}`);
}
