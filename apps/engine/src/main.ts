// Engine entry point: `npm start` (via scripts/start.mjs) or `npm start -w @ppgn/engine`.
// Every user-fixable problem ends here as one line on stderr and exit code 1.
import { openDatabase, DatabaseError, type Database } from '@ppgn/db';
import { readConfig } from './config';
import { StartupError } from './errors';
import { createEngineServer } from './http';
import { loadEnginePacks, startBackend } from './runtime';
import { assertPortFree } from './ports';

async function main() {
  const config = readConfig();
  await assertPortFree(config.port, config.host);
  const packs = await loadEnginePacks(config);
  const backend = await startBackend(config.backend);
  console.log(`[engine] tfjs backend: ${backend.name} (${backend.reason})`);
  let db: Database | undefined;
  try {
    db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  } catch (err) {
    if (err instanceof DatabaseError) throw new StartupError(err.message, err.hint);
    throw err;
  }
  const database = db;
  console.log(`[engine] database: ${database.embedded ? 'embedded Postgres' : 'DATABASE_URL'} (migrations applied)`);
  const server = createEngineServer({
    backend,
    packs: packs.map((p) => p.summary),
    db: { ping: () => database.ping(), embedded: database.embedded, countRooms: () => database.prisma.room.count() },
    runningRooms: () => 0,
  });
  let port: number;
  try {
    port = await server.listen(config.port, config.host);
  } catch (err) {
    await database.close();
    throw err;
  }
  console.log(`[engine] ready on http://localhost:${port} — packs: ${packs.map((p) => p.summary.id).join(', ')}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[engine] ${signal}: shutting down`);
    await server.close().catch(() => {});
    await database.close();
    process.exit(0);
  };
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
