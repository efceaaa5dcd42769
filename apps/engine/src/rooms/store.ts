// Persistence of rooms and their activity (Prisma). The room runtime calls this; nothing else.
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '@ppgn/db';
import { RoomState, type Role } from '@ppgn/shared';
import { Leases, type Lease } from '../cluster/leases';

export type { RoomTokens } from './access';
import type { RoomTokens } from './access';

/** who may use a room: role grants, removals, and (when the owner replaces them) the links' tokens */
export interface RoomAccess {
  roles?: Record<string, Role>;
  banned?: string[];
  tokens?: RoomTokens;
}

export interface ActivityRecord {
  version: number;
  author: string;
  kind: string;
  payload: object;
}

/** Everything not yet in Postgres. Latest state / context / checkpoint win; activity is a log, kept in full. */
export interface PendingWrite {
  state?: RoomState;
  contextPng?: Uint8Array | null;
  checkpoint?: { step: number; h: Float32Array };
  /** who may use the room: the owner's role grants and removals (each field: the latest whole value) */
  access?: RoomAccess;
  activity: ActivityRecord[];
}

export interface StoredRoom {
  state: RoomState;
  step: number;
  h: Float32Array | null;
  contextPng: Uint8Array | null;
  tokens: RoomTokens;
  /** person id → role the owner gave them */
  roles: Record<string, Role>;
  /** the gallery item the room was remixed from */
  parentItemId?: string | null;
  /** person ids the owner removed */
  banned: string[];
}

export const newId = (bytes = 9) => randomBytes(bytes).toString('base64url').replace(/[-_]/g, 'x');

export function floatsToBytes(h: Float32Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(h.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < h.length; i++) view.setFloat32(i * 4, h[i]!, true);
  return out;
}

export function bytesToFloats(b: Uint8Array): Float32Array {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Float32Array(Math.floor(b.byteLength / 4));
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/**
 * An intent as the activity log keeps it: pictures by reference (their SHA-256 and size; the room's state holds
 * the picture itself while it is in use) and strokes by their number of points — what changed and by whom, not
 * the payload again (an image condition is up to 64 KB; a busy editor wrote 39 MB in 30 s before).
 */
export function loggedIntent(intent: unknown): unknown {
  if (Array.isArray(intent)) return intent.map(loggedIntent);
  if (!intent || typeof intent !== 'object') return intent;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(intent)) {
    if (k === 'png' && typeof v === 'string')
      out.png = { sha256: createHash('sha256').update(v).digest('hex'), base64Bytes: v.length };
    else if (k === 'points' && Array.isArray(v)) out.points = v.length;
    else out[k] = loggedIntent(v);
  }
  return out;
}

/** the activity log keeps each room's last this many versions (older entries are pruned as new ones arrive) */
export const ACTIVITY_KEEP = 2000;

export class RoomStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly activityKeep = ACTIVITY_KEEP,
  ) {}

  async create(room: StoredRoom): Promise<void> {
    await this.prisma.room.create({
      data: {
        id: room.state.id,
        name: room.state.name,
        packId: room.state.packId,
        state: room.state as object,
        version: room.state.version,
        step: room.step,
        h: room.h ? floatsToBytes(room.h) : null,
        contextPng: room.contextPng ? Uint8Array.from(room.contextPng) : null,
        ownerToken: room.tokens.owner,
        editorToken: room.tokens.editor,
        viewerToken: room.tokens.viewer,
        roles: room.roles,
        parentItemId: room.parentItemId ?? null,
        banned: room.banned,
      },
    });
  }

  /**
   * Everything a room's writer has pending, in one transaction (nothing half-written): the latest
   * state, context image, checkpoint, role grants and removals, and every activity entry in order.
   */
  async write(id: string, w: PendingWrite, lease: Lease | null = null): Promise<void> {
    const data = roomData(w);
    const entries = activityRows(id, w);
    // retention: the room's last `activityKeep` versions (an index range delete, with the insert)
    const newest = entries.reduce((m, e) => Math.max(m, e.version), 0);
    const prune = newest > this.activityKeep ? { roomId: id, version: { lte: newest - this.activityKeep } } : null;
    const ops = [];
    if (Object.keys(data).length > 0) ops.push(this.prisma.room.update({ where: { id }, data }));
    if (entries.length > 0) ops.push(this.prisma.activityEntry.createMany({ data: entries }));
    if (prune) ops.push(this.prisma.activityEntry.deleteMany({ where: prune }));
    if (ops.length === 0) return;
    if (lease) {
      // cluster: only while this engine still holds the room's lease (a late write of an old owner is refused)
      await this.prisma.$transaction(async (tx) => {
        await Leases.fence(tx, id, lease);
        if (Object.keys(data).length > 0) await tx.room.update({ where: { id }, data });
        if (entries.length > 0) await tx.activityEntry.createMany({ data: entries });
        if (prune) await tx.activityEntry.deleteMany({ where: prune });
      });
      return;
    }
    if (ops.length === 1) await ops[0];
    else await this.prisma.$transaction(ops);
  }

  /**
   * Write changes kept on disk at the last stop (spill.ts): the room's fields only when they are newer than what
   * is stored (never a roll-back), activity entries that are missing. 'gone': the room no longer exists;
   * 'older': the stored room was already newer, only history was added.
   */
  async replay(id: string, w: PendingWrite): Promise<'written' | 'older' | 'gone'> {
    const row = await this.prisma.room.findUnique({ where: { id }, select: { version: true } });
    if (!row) return 'gone';
    const newer = !w.state || w.state.version > row.version;
    const entries = activityRows(id, w);
    await this.prisma.$transaction(async (tx) => {
      const data = newer ? roomData(w) : {};
      if (Object.keys(data).length) await tx.room.update({ where: { id }, data });
      if (entries.length) await tx.activityEntry.createMany({ data: entries, skipDuplicates: true });
    });
    return newer ? 'written' : 'older';
  }

  async load(id: string): Promise<StoredRoom | null> {
    const r = await this.prisma.room.findUnique({ where: { id } });
    return r ? this.fromRow(r) : null;
  }

  async all(): Promise<StoredRoom[]> {
    const rows = await this.prisma.room.findMany({ orderBy: { createdAt: 'asc' } });
    return rows.map((r) => this.fromRow(r));
  }

  private fromRow(r: {
    id: string;
    state: unknown;
    version: number;
    step: number;
    h: Uint8Array | null;
    contextPng: Uint8Array | null;
    ownerToken: string;
    editorToken: string;
    viewerToken: string;
    roles: unknown;
    parentItemId: string | null;
    banned: string[];
  }): StoredRoom {
    const state = RoomState.parse({ ...(r.state as object), version: r.version });
    return {
      state,
      step: r.step,
      h: r.h ? bytesToFloats(r.h) : null,
      contextPng: r.contextPng,
      tokens: { owner: r.ownerToken, editor: r.editorToken, viewer: r.viewerToken },
      roles: (r.roles ?? {}) as Record<string, Role>,
      parentItemId: r.parentItemId,
      banned: r.banned ?? [],
    };
  }
}

/** The activity log rows of a pending write. */
function activityRows(roomId: string, w: PendingWrite) {
  return w.activity.map((a) => ({ roomId, version: a.version, author: a.author, kind: a.kind, payload: a.payload }));
}

/** The room row's columns a pending write changes. */
function roomData(w: PendingWrite) {
  return {
    ...(w.state ? { name: w.state.name, state: w.state as object, version: w.state.version } : {}),
    ...(w.contextPng !== undefined ? { contextPng: w.contextPng ? Uint8Array.from(w.contextPng) : null } : {}),
    ...(w.checkpoint ? { step: w.checkpoint.step, h: floatsToBytes(w.checkpoint.h) } : {}),
    ...(w.access?.roles ? { roles: w.access.roles } : {}),
    ...(w.access?.banned ? { banned: w.access.banned } : {}),
    ...(w.access?.tokens
      ? {
          ownerToken: w.access.tokens.owner,
          editorToken: w.access.tokens.editor,
          viewerToken: w.access.tokens.viewer,
        }
      : {}),
  };
}
