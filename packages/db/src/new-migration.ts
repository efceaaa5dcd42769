// `npm run db:migration -- <name>`: write prisma/migrations/<timestamp>_<name>/ with the SQL that
// takes the previous migration's schema snapshot to prisma/schema.prisma, plus a new snapshot.
// Prisma's differ runs through its JS engine, which needs a reachable database even for a pure
// schema-to-schema diff, so a throwaway embedded Postgres is started for it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from './embedded';
import { MIGRATIONS_DIR, listMigrations } from './migrate';

const name = (process.argv[2] ?? '').trim();
if (!/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run db:migration -- <name>   (lowercase letters, digits and _)');
  process.exit(2);
}
const root = path.resolve(MIGRATIONS_DIR, '../..');
const schema = path.join(root, 'prisma', 'schema.prisma');
const prev = listMigrations().at(-1);
const prevSnapshot = prev ? path.join(MIGRATIONS_DIR, prev.name, 'schema.prisma') : undefined;
if (prevSnapshot && readFileSync(prevSnapshot, 'utf8') === readFileSync(schema, 'utf8')) {
  console.log('prisma/schema.prisma has not changed since the last migration; nothing to do');
  process.exit(0);
}
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ppgn-migration-'));
const pg = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'pg'), ephemeral: true });
try {
  const from = prevSnapshot ? ['--from-schema-datamodel', prevSnapshot] : ['--from-empty'];
  const r = spawnSync(
    process.execPath,
    [
      path.join(root, 'node_modules/prisma/build/index.js'),
      'migrate',
      'diff',
      '--config',
      path.join(root, 'prisma/prisma.config.ts'),
      ...from,
      '--to-schema-datamodel',
      schema,
      '--script',
    ],
    { env: { ...process.env, DATABASE_URL: pg.url, CHECKPOINT_DISABLE: '1' }, encoding: 'utf8', timeout: 180_000 },
  );
  if (r.status !== 0) throw new Error(r.stderr || r.stdout || 'prisma migrate diff failed');
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const dir = path.join(MIGRATIONS_DIR, `${stamp}_${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'migration.sql'), r.stdout.replace(/^Loaded Prisma config.*\n/m, ''));
  copyFileSync(schema, path.join(dir, 'schema.prisma'));
  console.log(`wrote ${path.relative(root, dir)}/migration.sql`);
} finally {
  await pg.stop();
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
