// Engine entry point: `npm start` (via scripts/start.mjs) or `npm start -w @ppgn/engine`.
// Every user-fixable problem ends here as one line on stderr and exit code 1.
import { readConfig } from './config';
import { startEngine } from './engine';
import { StartupError } from './errors';

async function main() {
  const engine = await startEngine(readConfig());
  console.log(`[engine] ready on http://localhost:${engine.port} — packs: ${engine.packs.map((p) => p.id).join(', ')}`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[engine] ${signal}: saving rooms and shutting down`);
    await engine.close();
    process.exit(0);
  };
  // The embedded Postgres module installs its own SIGINT/SIGTERM hook, which stops the database (and
  // exits) while the rooms are still being saved, so the last checkpoints were lost. The engine's stop
  // saves the rooms first and then stops the database itself (engine.close → db.close).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(signal);
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  if (err instanceof StartupError) {
    console.error(`[engine] error: ${err.line()}`);
  } else {
    console.error(`[engine] unexpected error: ${(err as Error)?.stack ?? err}`);
  }
  process.exit(1);
});
