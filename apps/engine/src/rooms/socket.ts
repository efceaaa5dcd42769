// Socket.IO ↔ RoomManager translation. Validates every payload (zod), enforces roles and
// rate limits, never lets a bad message crash the process.
import { randomBytes } from 'node:crypto';
import type { Server, Socket } from 'socket.io';
import {
  AdminAction,
  Intent,
  JoinRequest,
  LIMITS,
  PresenceUpdate,
  describeZodError,
  type Ack,
  type ClientToServerEvents,
  type JoinResult,
  type Role,
  type ServerToClientEvents,
} from '@ppgn/shared';
import { PpgnInputError } from '@ppgn/core';
import { RoomError } from './model';
import type { RoomEvents, RoomManager } from './manager';

type IO = Server<ClientToServerEvents, ServerToClientEvents>;
type Sock = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
interface SocketData {
  roomId?: string;
  userId?: string;
  name?: string;
  role?: Role;
}

const channel = (roomId: string) => `room:${roomId}`;
const userChannel = (roomId: string, userId: string) => `room:${roomId}:user:${userId}`;

/** Events the manager raises, delivered to the right sockets. Frames are volatile: slow clients drop them. */
export function socketEvents(getIo: () => IO | undefined): RoomEvents {
  return {
    patch: (roomId, patch) => getIo()?.to(channel(roomId)).emit('room:patch', patch),
    frame: (roomId, frame, reliable) => {
      const to = getIo()?.to(channel(roomId));
      (reliable ? to : to?.volatile)?.emit('room:frame', frame);
    },
    members: (roomId, members) => getIo()?.to(channel(roomId)).emit('room:members', members),
    activity: (roomId, item) => getIo()?.to(channel(roomId)).emit('room:activity', item),
    kicked: (roomId, userId, reason) => {
      const io = getIo();
      if (!io) return;
      io.to(userChannel(roomId, userId)).emit('room:kicked', { reason });
      io.in(userChannel(roomId, userId)).disconnectSockets(true);
    },
    role: (roomId, userId, role) => {
      const io = getIo();
      if (!io) return;
      io.in(userChannel(roomId, userId)).fetchSockets().then((socks) => {
        for (const s of socks) (s.data as SocketData).role = role;
      });
      io.to(userChannel(roomId, userId)).emit('room:role', { role });
    },
    // a quarantined chain: every client is told (the web shows it as "chain: …"); recovery shows in frames
    chainError: (roomId, error) => {
      if (error) getIo()?.to(channel(roomId)).emit('room:error', { error, intent: 'chain' });
    },
  };
}

class RateLimiter {
  private tokens: number;
  private last = Date.now();
  constructor(private readonly rate: number) {
    this.tokens = rate;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

function message(err: unknown): string {
  if (err instanceof RoomError || err instanceof PpgnInputError) return err.message;
  return 'internal error';
}

export function attachRoomSockets(
  io: IO,
  manager: RoomManager,
  opts: { log?: (l: string) => void; intentRate?: number } = {},
): void {
  const log = opts.log ?? (() => {});
  io.on('connection', (raw) => {
    const socket = raw as unknown as Sock;
    const limiter = new RateLimiter(opts.intentRate ?? LIMITS.intentsPerSecond);
    const ack = <T>(fn: unknown): ((v: T) => void) => (typeof fn === 'function' ? (fn as (v: T) => void) : () => {});
    const fail = (error: string, intent?: string) => socket.emit('room:error', { error, intent });

    socket.on('room:join', (req, cb) => {
      const reply = ack<JoinResult>(cb);
      try {
        const parsed = JoinRequest.safeParse(req);
        if (!parsed.success) return reply({ ok: false, error: describeZodError(parsed.error) });
        const { roomId, token, name, sinceVersion } = parsed.data;
        const room = manager.rooms.get(roomId);
        if (!room) return reply({ ok: false, error: `no room "${roomId}"` });
        const userId = parsed.data.userId ?? randomBytes(9).toString('base64url');
        const role = manager.roleFor(room, token, userId);
        if (!role) return reply({ ok: false, error: room.banned.has(userId) ? 'you were removed from this room' : 'this link is not valid for the room' });
        if (socket.data.roomId) return reply({ ok: false, error: 'this connection already joined a room' });
        socket.data = { roomId, userId, name, role };
        void socket.join([channel(roomId), userChannel(roomId, userId)]);
        manager.join(room, userId, name, role);
        const patches = sinceVersion !== undefined ? room.model.patchesSince(sinceVersion) : null;
        const pack = room.pack.manifest;
        reply({
          ok: true,
          userId,
          role,
          state: patches ? null : room.model.snapshot(),
          patches: patches ?? [],
          members: manager.members(room),
          activity: room.activity,
          pack: {
            id: room.model.state.packId,
            labels: Object.fromEntries(
              pack.conditions.map((c) => [c.id, c.kind === 'classes' ? c.labels : c.kind === 'keywords' ? c.vocabulary : c.layers.map((l) => `${l.name}:${l.channels}`)]),
            ),
          },
        });
        if (room.lastFrame) socket.emit('room:frame', room.lastFrame);
        if (room.chainError) socket.emit('room:error', { error: room.chainError, intent: 'chain' });
      } catch (err) {
        log(`join failed: ${(err as Error).stack}`);
        reply({ ok: false, error: message(err) });
      }
    });

    socket.on('room:intent', async (raw, cb) => {
      const reply = ack<Ack>(cb);
      const { roomId, userId, name, role } = socket.data;
      if (!roomId || !userId || !role) return reply({ ok: false, error: 'join a room first' });
      if (!limiter.take()) {
        const error = 'too many changes per second; slow down';
        fail(error, typeof raw?.type === 'string' ? raw.type : undefined);
        return reply({ ok: false, error });
      }
      const parsed = Intent.safeParse(raw);
      if (!parsed.success) {
        const error = describeZodError(parsed.error);
        fail(error, typeof raw?.type === 'string' ? raw.type : undefined);
        return reply({ ok: false, error });
      }
      try {
        const patch = await manager.intent(roomId, { userId, name: name ?? userId, role }, parsed.data);
        reply({ ok: true, version: patch?.version ?? manager.get(roomId).model.version });
      } catch (err) {
        if (!(err instanceof RoomError || err instanceof PpgnInputError)) log(`intent failed: ${(err as Error).stack}`);
        const error = message(err);
        fail(error, parsed.data.type);
        reply({ ok: false, error });
      }
    });

    socket.on('room:presence', (raw) => {
      const { roomId, userId } = socket.data;
      if (!roomId || !userId) return;
      if (!limiter.take()) return; // presence is best-effort
      const parsed = PresenceUpdate.safeParse(raw);
      if (!parsed.success) return fail(describeZodError(parsed.error), 'presence');
      const room = manager.rooms.get(roomId);
      if (room) manager.presence(room, userId, parsed.data);
    });

    socket.on('room:admin', async (raw, cb) => {
      const reply = ack<Ack>(cb);
      const { roomId, userId, name, role } = socket.data;
      if (!roomId || !userId || !role) return reply({ ok: false, error: 'join a room first' });
      const parsed = AdminAction.safeParse(raw);
      if (!parsed.success) return reply({ ok: false, error: describeZodError(parsed.error) });
      try {
        const room = manager.get(roomId);
        await manager.admin(room, { userId, name: name ?? userId, role }, parsed.data);
        reply({ ok: true, version: room.model.version });
      } catch (err) {
        reply({ ok: false, error: message(err) });
      }
    });

    socket.on('disconnect', () => {
      const { roomId, userId } = socket.data;
      const room = roomId ? manager.rooms.get(roomId) : undefined;
      if (room && userId) manager.leave(room, userId);
    });
  });
}
