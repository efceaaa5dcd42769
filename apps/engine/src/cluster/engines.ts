// The engines of a cluster, as the shared Postgres knows them (Engine rows): where each one is
// reached, its load, and whether it is alive (heartbeat within the lease time) or draining.
import type { PrismaClient } from '@ppgn/db';

const NOW = `(now() AT TIME ZONE 'UTC')`;

export interface EngineInfo {
  id: string;
  url: string;
  load: number;
  rooms: number;
  chains: number;
  draining: boolean;
}

export interface EngineLoad {
  load: number;
  rooms: number;
  chains: number;
}

/** Two live engines with one id would share leases (and their fencing): the second one does not start. */
export class EngineIdInUse extends Error {
  constructor(readonly id: string) {
    super(`another running engine already uses the id "${id}"`);
    this.name = 'EngineIdInUse';
  }
}

export class EngineRegistry {
  constructor(
    private readonly prisma: PrismaClient,
    readonly self: { id: string; url: string },
    /** an engine whose heartbeat is older than this is taken for dead */
    private readonly aliveMs: number,
  ) {}

  /** Join the table; refused (EngineIdInUse) while a live engine has this id. */
  async register(): Promise<void> {
    const { id, url } = this.self;
    // engines gone for an hour are history
    await this.prisma.$executeRawUnsafe(`DELETE FROM "Engine" WHERE "heartbeatAt" < ${NOW} - interval '1 hour'`);
    if ((await this.alive()).some((e) => e.id === id)) throw new EngineIdInUse(id);
    await this.prisma.$executeRawUnsafe(
      `INSERT INTO "Engine" ("id", "url", "startedAt", "heartbeatAt") VALUES ($1, $2, ${NOW}, ${NOW})
       ON CONFLICT ("id") DO UPDATE SET "url" = EXCLUDED."url", "draining" = false, "heartbeatAt" = ${NOW}`,
      id,
      url,
    );
  }

  async heartbeat(load: EngineLoad, draining = false): Promise<void> {
    await this.prisma.$executeRawUnsafe(
      `UPDATE "Engine" SET "heartbeatAt" = ${NOW}, "load" = $2, "rooms" = $3, "chains" = $4, "draining" = $5 WHERE "id" = $1`,
      this.self.id,
      load.load,
      load.rooms,
      load.chains,
      draining,
    );
  }

  /** Engines whose heartbeat is recent (this one included once registered). */
  async alive(): Promise<EngineInfo[]> {
    const rows = await this.prisma.$queryRawUnsafe<EngineInfo[]>(
      `SELECT "id", "url", "load", "rooms", "chains", "draining" FROM "Engine"
       WHERE "heartbeatAt" > ${NOW} - make_interval(secs => ${(this.aliveMs / 1000).toFixed(3)}) ORDER BY "id"`,
    );
    return rows.map((r) => ({ ...r, load: Number(r.load), rooms: Number(r.rooms), chains: Number(r.chains) }));
  }

  async url(id: string): Promise<string | null> {
    const rows = await this.prisma.$queryRawUnsafe<{ url: string }[]>(`SELECT "url" FROM "Engine" WHERE "id" = $1`, id);
    return rows[0]?.url ?? null;
  }

  async remove(): Promise<void> {
    await this.prisma.$executeRawUnsafe(`DELETE FROM "Engine" WHERE "id" = $1`, this.self.id);
  }
}
