// Room ownership in a cluster: one lease row per room in the shared Postgres (RoomLease). Every
// statement runs on the database clock and takes the row lock, so two engines never hold one room:
// an UPDATE that waits behind another re-checks its WHERE on the row the other one wrote.
import type { PrismaClient } from '@ppgn/db';

/** The database's clock, as the TIMESTAMP(3) (UTC) columns Prisma writes. */
const NOW = `(now() AT TIME ZONE 'UTC')`;

export interface Lease {
  owner: string;
  epoch: number;
  /**
   * Until when (this process's clock, ms) the lease is surely still ours: the start of the last
   * successful take or renewal plus the lease time, less a margin. Past it the room is not sampled,
   * so an engine cut off from the database stops before another one can adopt its rooms.
   */
  until: number;
}

export interface LeaseHolder {
  owner: string;
  epoch: number;
  /** still valid (not expired) by the database clock */
  valid: boolean;
}

/** The owner's writes for a room whose lease it no longer holds: refused, never retried. */
export class LeaseLostError extends Error {
  constructor(roomId: string) {
    super(`room ${roomId} is owned by another engine now`);
    this.name = 'LeaseLostError';
  }
}

export class Leases {
  constructor(
    private readonly prisma: PrismaClient,
    readonly engineId: string,
    /** a lease not renewed for this long expires */
    readonly ttlMs: number,
  ) {}

  private get ttl() {
    return `${NOW} + make_interval(secs => ${(this.ttlMs / 1000).toFixed(3)})`;
  }

  /**
   * Take a room's lease if nobody holds a valid one (or we already do: an engine restarted under the
   * same id). Returns our lease, always with a new epoch (whatever wrote under the old one is fenced
   * off), or null when another engine holds it.
   */
  async acquire(roomId: string): Promise<Lease | null> {
    const started = Date.now();
    const rows = await this.prisma.$queryRawUnsafe<{ owner: string; epoch: number }[]>(
      `INSERT INTO "RoomLease" ("roomId", "owner", "epoch", "expiresAt")
         SELECT $1, $2, 1, ${this.ttl} WHERE EXISTS (SELECT 1 FROM "Room" WHERE id = $1)
       ON CONFLICT ("roomId") DO UPDATE
         SET "owner" = EXCLUDED."owner",
             "epoch" = "RoomLease"."epoch" + 1,
             "expiresAt" = EXCLUDED."expiresAt"
         WHERE "RoomLease"."owner" = EXCLUDED."owner" OR "RoomLease"."expiresAt" <= ${NOW}
       RETURNING "owner", "epoch"`,
      roomId,
      this.engineId,
    );
    const r = rows[0];
    return r && r.owner === this.engineId
      ? { owner: r.owner, epoch: Number(r.epoch), until: this.validUntil(started) }
      : null;
  }

  /** a lease taken or renewed by a statement sent at `started` is surely ours until then */
  validUntil(started: number): number {
    return started + this.ttlMs - Math.min(1000, this.ttlMs / 5);
  }

  /** Extend our leases; returns the ids we still hold (a room missing from it was lost). */
  async renew(leases: Map<string, Pick<Lease, 'epoch'>>): Promise<Set<string>> {
    if (leases.size === 0) return new Set();
    const ids = [...leases.keys()];
    const rows = await this.prisma.$queryRawUnsafe<{ roomId: string; epoch: number }[]>(
      `UPDATE "RoomLease" SET "expiresAt" = ${this.ttl}
       WHERE "roomId" = ANY($1::text[]) AND "owner" = $2 AND "expiresAt" > ${NOW}
       RETURNING "roomId", "epoch"`,
      ids,
      this.engineId,
    );
    const held = new Set<string>();
    for (const r of rows) if (Number(r.epoch) === leases.get(r.roomId)?.epoch) held.add(r.roomId);
    return held;
  }

  /** Give rooms up at once (drain): another engine may take them right away. */
  async release(roomIds: string[]): Promise<void> {
    if (roomIds.length === 0) return;
    await this.prisma.$executeRawUnsafe(
      `UPDATE "RoomLease" SET "expiresAt" = ${NOW} - interval '1 second' WHERE "roomId" = ANY($1::text[]) AND "owner" = $2`,
      roomIds,
      this.engineId,
    );
  }

  /** Valid leases per engine right now (new rooms count at once, unlike the load engines report every heartbeat). */
  async counts(): Promise<Map<string, number>> {
    const rows = await this.prisma.$queryRawUnsafe<{ owner: string; n: number }[]>(
      `SELECT "owner", count(*)::int AS n FROM "RoomLease" WHERE "expiresAt" > ${NOW} GROUP BY "owner"`,
    );
    return new Map(rows.map((r) => [r.owner, Number(r.n)]));
  }

  async holder(roomId: string): Promise<LeaseHolder | null> {
    const rows = await this.prisma.$queryRawUnsafe<{ owner: string; epoch: number; valid: boolean }[]>(
      `SELECT "owner", "epoch", "expiresAt" > ${NOW} AS valid FROM "RoomLease" WHERE "roomId" = $1`,
      roomId,
    );
    const r = rows[0];
    return r ? { owner: r.owner, epoch: Number(r.epoch), valid: r.valid } : null;
  }

  /** Inside a write transaction: lock our lease row (shared) or throw LeaseLostError. */
  static async fence(
    tx: Pick<PrismaClient, '$queryRawUnsafe'>,
    roomId: string,
    lease: Pick<Lease, 'owner' | 'epoch'>,
  ): Promise<void> {
    const rows = await tx.$queryRawUnsafe<{ ok: number }[]>(
      `SELECT 1 AS ok FROM "RoomLease" WHERE "roomId" = $1 AND "owner" = $2 AND "epoch" = $3 AND "expiresAt" > ${NOW} FOR SHARE`,
      roomId,
      lease.owner,
      lease.epoch,
    );
    if (rows.length === 0) throw new LeaseLostError(roomId);
  }
}
