// One place for "give me a migrated database": DATABASE_URL if set, else an embedded Postgres.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@prisma/client';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded';
import { migrate } from './migrate';

export { PrismaClient, Prisma } from '@prisma/client';
export type * from '@prisma/client';
export { migrate, listMigrations, MIGRATIONS_DIR } from './migrate';
export { startEmbeddedPostgres, freePort } from './embedded';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const DEFAULT_DATA_DIR = path.join(REPO_ROOT, '.data', 'postgres');

export interface Database {
  prisma: PrismaClient;
  url: string;
  embedded: boolean;
  /** Is the database answering right now? */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Connection string; defaults to process.env.DATABASE_URL; unset → embedded Postgres. */
  url?: string;
  /** Embedded data directory (default .data/postgres at the repo root, or PPGN_DATA_DIR). */
  dataDir?: string;
  ephemeral?: boolean;
  log?: (line: string) => void;
}

export class DatabaseError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'DatabaseError';
  }
}

/** Redact the password of a connection string for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}

async function checkReachable(url: string): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
    if (!/^postgres(ql)?:$/.test(parsed.protocol)) throw new Error('not a postgres URL');
  } catch {
    throw new DatabaseError(
      `DATABASE_URL is not a valid postgresql:// URL (${redactUrl(url)})`,
      'fix DATABASE_URL, or unset it to use the embedded database',
    );
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new DatabaseError(
      `cannot reach the database at ${parsed.hostname}:${parsed.port || 5432} (${e.code ?? e.message})`,
      'check that Postgres is running and DATABASE_URL is right, or unset DATABASE_URL to use the embedded database',
    );
  } finally {
    await client.end().catch(() => {});
  }
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08006', // Postgres: shutting down / cannot connect
  'P1001',
  'P1002',
  'P1017',
  'P2024', // Prisma: unreachable, timed out, closed, pool timeout
]);
const UNAVAILABLE_TEXT =
  /ECONNREFUSED|ECONNRESET|Connection terminated|connection (?:is )?(?:closed|lost|refused)|Can't reach database|timeout exceeded when trying to connect|Query read timeout|server closed the connection|the database system is (?:shutting down|starting up)|DatabaseNotReachable|Connection ended/i;

/** Is this error "the database is not answering" (as opposed to a bad query)? Walks `cause` chains. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; message?: unknown; cause?: unknown; name?: unknown } | null, depth = 0;
    e && depth < 6;
    e = e.cause as typeof e, depth++
  ) {
    if (typeof e !== 'object') break;
    if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
    if (e.name === 'PrismaClientInitializationError') return true;
    if (typeof e.message === 'string' && UNAVAILABLE_TEXT.test(e.message)) return true;
    const kind = (e as { kind?: unknown }).kind;
    if (kind === 'DatabaseNotReachable' || kind === 'SocketTimeout' || kind === 'ConnectionClosed') return true;
  }
  return false;
}

export async function openDatabase(opts: OpenOptions = {}): Promise<Database> {
  const log = opts.log ?? (() => {});
  let url = opts.url ?? process.env.DATABASE_URL ?? '';
  let embedded: EmbeddedDatabase | undefined;
  if (url) {
    await checkReachable(url);
  } else {
    const dataDir = opts.dataDir ?? process.env.PPGN_DATA_DIR ?? DEFAULT_DATA_DIR;
    try {
      embedded = await startEmbeddedPostgres({ dataDir, ephemeral: opts.ephemeral, log });
    } catch (err) {
      throw new DatabaseError(
        (err as Error).message,
        /lock file|already running|postmaster\.pid/i.test((err as Error).message)
          ? 'another studio is using this data directory; stop it or set PPGN_DATA_DIR'
          : 'set DATABASE_URL to an existing Postgres, or delete the data directory to start afresh',
      );
    }
    url = embedded.url;
  }
  try {
    const res = await migrate(url);
    if (res.applied.length) log(`applied migrations: ${res.applied.join(', ')}`);
  } catch (err) {
    await embedded?.stop().catch(() => {});
    throw new DatabaseError(`database migration failed: ${(err as Error).message}`, 'see prisma/migrations');
  }
  // bounded waits: a database that is down or cut off fails a query in seconds instead of hanging it
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 20_000, query_timeout: 30_000 });
  pool.on('error', () => {}); // a dropped idle connection must not crash the process
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  let closed = false;
  return {
    prisma,
    url,
    embedded: Boolean(embedded),
    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect().catch(() => {});
      await pool.end().catch(() => {});
      await embedded?.stop().catch(() => {});
    },
  };
}
