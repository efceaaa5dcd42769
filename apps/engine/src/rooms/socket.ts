// Socket.IO ↔ RoomManager translation. Validates every payload (zod), enforces roles and
// rate limits, never lets a bad message crash the process.
//
// Who you are comes from the credential in the Socket.IO handshake (`auth.credential`), checked
// against Postgres; a first join mints one. Connection state recovery: a dropped transport that
// comes back within the recovery window gets its socket (room, person, role) back without a new
// join; the member was kept meanwhile (RoomManager.disconnect's grace period).
import type { Server, Socket } from 'socket.io';
import {
  AdminAction,
  Intent,
  JoinRequest,
  LIMITS,
  PROTOCOL_VERSION,
  PresenceUpdate,
  describeZodError,
  type Ack,
  type ClientToServerEvents,
  type ErrorCode,
  type ErrorReason,
  type JoinResult,
  type SocketAuth,
  type Role,
  type ServerToClientEvents,
} from '@ppgn/shared';
import { PpgnInputError } from '@ppgn/core';
import type { Identities } from '../identity';
import { RoomError } from './errors';
import type { Joined, RoomGateway } from './gateway';
import type { RoomEvents } from './manager';
import { wirePatch, wireState } from './wire';
import { RateLimiter, WindowCounter } from './rate';

type IO = Server<ClientToServerEvents, ServerToClientEvents>;
type Sock = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
interface SocketData {
  roomId?: string;
  /** the person id, from the credential (never from the client) */
  userId?: string;
  name?: string;
  role?: Role;
  /** the link's token this socket joined with (the role is recomputed from it on recovery) */
  token?: string;
}

export const channel = (roomId: string) => `room:${roomId}`;
export const userChannel = (roomId: string, userId: string) => `room:${roomId}:user:${userId}`;

/** Events the manager raises, delivered to the right sockets. Frames are volatile: slow clients drop them. */
export function socketEvents(getIo: () => IO | undefined): RoomEvents {
  return {
    patch: (roomId, patch) => getIo()?.to(channel(roomId)).emit('room:patch', wirePatch(patch)),
    frame: (roomId, frame, reliable) => {
      const to = getIo()?.to(channel(roomId));
      (reliable ? to : to?.volatile)?.emit('room:frame', frame);
    },
    // presence (cursors, names) is best-effort: volatile, so it neither queues nor fills the recovery buffer;
    // joins and leaves are not
    members: (roomId, members, presenceOnly) => {
      const to = getIo()?.to(channel(roomId));
      (presenceOnly ? to?.volatile : to)?.emit('room:members', members);
    },
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
      // this engine's sockets of the person (in a cluster the owner recomputes the role on every call anyway)
      io.local
        .in(userChannel(roomId, userId))
        .fetchSockets()
        .then((socks) => {
          for (const s of socks) (s.data as SocketData).role = role;
        })
        .catch(() => {});
      io.to(userChannel(roomId, userId)).emit('room:role', { role });
    },
    // a quarantined chain: every client is told (the web shows it as "chain: …"); recovery shows in frames
    chainError: (roomId, error) => {
      if (error) getIo()?.to(channel(roomId)).emit('room:error', { error, intent: 'chain' });
    },
  };
}

/** cursor and painting updates per person and second (the web sends at most ~20) */
const PRESENCE_PER_SECOND = 40;

/** joins per second on one connection (a burst of as many) */
const JOINS_PER_SECOND = 2;

function message(err: unknown): string {
  if (err instanceof RoomError || err instanceof PpgnInputError) return err.message;
  return 'internal error';
}

export function attachRoomSockets(
  io: IO,
  rooms: RoomGateway,
  identities: Identities,
  opts: {
    log?: (l: string) => void;
    intentRate?: number;
    presenceRate?: number;
    identityLimit?: { limit: number; windowMs: number };
  } = {},
): void {
  const log = opts.log ?? (() => {});
  // every join without a credential stores a new person: per client address, like the HTTP limits
  const mints = opts.identityLimit ? new WindowCounter(opts.identityLimit.limit, opts.identityLimit.windowMs) : null;
  // the name a person goes by, for what they publish (best effort: a join never waits on it)
  const rememberName = (userId: string, name: string) =>
    void identities.setName(userId, name).catch((err) => log(`could not store a name: ${(err as Error).message}`));

  // A recovered session is a bearer secret too: it is only taken back by the person it belongs to
  // (the credential of the new handshake proves the same person id), and only once at a time.
  io.use((raw, next) => {
    const socket = raw as unknown as Sock;
    if (!socket.recovered || !socket.data.userId) return next();
    const refuse = (code: ErrorCode, message: string) => next(Object.assign(new Error(message), { data: { code } }));
    if (io.sockets.sockets.has(socket.id)) return refuse('forbidden', 'this session is already connected; join again');
    identities.verify(credentialOf(socket)).then(
      (person) =>
        person?.id === socket.data.userId
          ? next()
          : refuse('forbidden', 'this session belongs to someone else; join again'),
      () => refuse('unavailable', 'the engine cannot check who you are right now; try again in a moment'),
    );
  });

  // rate limits bind to the person, not the connection (a second tab does not double the budget),
  // and presence (cursors) has a bucket of its own so that moving the mouse never costs a change
  const intentRate = opts.intentRate ?? LIMITS.intentsPerSecond;
  const presenceRate = opts.presenceRate ?? PRESENCE_PER_SECOND;
  const buckets = { intent: new Map<string, RateLimiter>(), presence: new Map<string, RateLimiter>() };
  const bucket = (kind: keyof typeof buckets, person: string) => {
    const m = buckets[kind];
    let b = m.get(person);
    if (!b) {
      b = new RateLimiter(kind === 'intent' ? intentRate : presenceRate);
      if (m.size >= 10_000) m.delete(m.keys().next().value!);
      m.set(person, b);
    }
    return b;
  };

  const deps: JoinDeps = { rooms, identities, log, mints, identityLimit: opts.identityLimit, rememberName };

  io.on('connection', (raw) => {
    const socket = raw as unknown as Sock;
    // each join broadcasts the member list: a joined connection may join again a couple of times a second
    const joins = new RateLimiter(JOINS_PER_SECOND);
    const ack = <T>(fn: unknown): ((v: T) => void) => (typeof fn === 'function' ? (fn as (v: T) => void) : () => {});
    const fail = (error: string, intent?: string) => socket.emit('room:error', { error, intent });
    let joining = false;

    if (socket.recovered && socket.data.roomId) {
      // the same membership, presence and undo stack: the member was kept while the transport was down
      const { roomId, userId, name, token } = socket.data;
      if (!userId || token === undefined) {
        socket.data = {};
        socket.disconnect(true);
        return;
      }
      rooms.join({ roomId, token, userId, name: name ?? userId, socketId: socket.id, recovered: true }).then(
        (joined) => {
          if (socket.disconnected) return rooms.leave(roomId, userId, socket.id, false);
          if (joined.role !== socket.data.role) {
            socket.data.role = joined.role;
            socket.emit('room:role', { role: joined.role });
          }
        },
        (err) => {
          if (err instanceof RoomError && err.code === 'forbidden') socket.emit('room:kicked', { reason: err.message });
          else if (!(err instanceof RoomError)) log(`recovering a connection failed: ${(err as Error).stack}`);
          socket.data = {};
          socket.disconnect(true);
        },
      );
    }

    socket.on('room:join', async (req, cb) => {
      const reply = ack<JoinResult>(cb);
      const refuse = (code: ErrorCode, error: string, reason?: ErrorReason) => reply(refusal(code, error, reason));
      if (joining) return refuse('invalid', 'a join is already under way on this connection');
      // a re-join of a joined connection broadcasts the member list again: those are limited
      if (socket.data.roomId && !joins.take())
        return refuse('rate_limited', 'too many joins on this connection; wait a moment and join again');
      joining = true;
      try {
        const parsed = JoinRequest.safeParse(req);
        if (!parsed.success) return refuse('invalid', describeZodError(parsed.error));
        const { roomId, protocol } = parsed.data;
        if (protocol !== undefined && protocol !== PROTOCOL_VERSION)
          return refuse(
            'invalid',
            `this page speaks protocol ${protocol} and the engine ${PROTOCOL_VERSION}: reload the page`,
            'protocol',
          );
        if (socket.data.roomId && socket.data.roomId !== roomId)
          return refuse('invalid', 'this connection already joined another room');
        const done = await joinRoom(socket, parsed.data, deps, refusal);
        if (!done) return;
        reply(done.result);
        if (done.joined?.lastFrame) socket.emit('room:frame', done.joined.lastFrame);
        if (done.joined?.chainError) socket.emit('room:error', { error: done.joined.chainError, intent: 'chain' });
      } catch (err) {
        if (!(err instanceof RoomError)) log(`join failed: ${(err as Error).stack}`);
        if (err instanceof RoomError) refuse(err.code, message(err), err.reason);
        else refuse('internal', message(err));
      } finally {
        joining = false;
      }
    });

    socket.on('room:intent', async (raw, cb) => {
      const reply = ack<Ack>(cb);
      const { roomId, userId, name, role, token } = socket.data;
      if (!roomId || !userId || !role || token === undefined) return reply({ ok: false, error: 'join a room first' });
      if (!bucket('intent', userId).take()) {
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
        const version = await rooms.intent(roomId, { userId, name: name ?? userId, token }, parsed.data);
        reply({ ok: true, version });
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
      if (!bucket('presence', userId).take()) return; // presence is best-effort
      const parsed = PresenceUpdate.safeParse(raw);
      if (!parsed.success) return fail(describeZodError(parsed.error), 'presence');
      if (parsed.data.name !== undefined) {
        socket.data.name = parsed.data.name;
        rememberName(userId, parsed.data.name);
      }
      rooms.presence(roomId, userId, parsed.data);
    });

    socket.on('room:admin', async (raw, cb) => {
      const reply = ack<Ack>(cb);
      const { roomId, userId, name, role, token } = socket.data;
      if (!roomId || !userId || !role || token === undefined) return reply({ ok: false, error: 'join a room first' });
      // role changes and removals cost the same budget as any other change
      if (!bucket('intent', userId).take())
        return reply({ ok: false, error: 'too many changes per second; slow down' });
      const parsed = AdminAction.safeParse(raw);
      if (!parsed.success) return reply({ ok: false, error: describeZodError(parsed.error) });
      try {
        const version = await rooms.admin(roomId, { userId, name: name ?? userId, token }, parsed.data);
        reply({ ok: true, version });
      } catch (err) {
        reply({ ok: false, error: message(err) });
      }
    });

    socket.on('disconnect', (reason) => {
      const { roomId, userId } = socket.data;
      // closing the room (or being closed by the engine) leaves at once; a dropped transport keeps the place for a while
      const left = reason === 'client namespace disconnect' || reason === 'server namespace disconnect';
      if (roomId && userId) rooms.leave(roomId, userId, socket.id, left);
    });
  });
}

interface JoinDeps {
  rooms: RoomGateway;
  identities: Identities;
  log: (l: string) => void;
  /** new people per client address (null: unlimited) */
  mints: WindowCounter | null;
  identityLimit?: { limit: number; windowMs: number };
  rememberName: (userId: string, name: string) => void;
}

/** the credential of a connection's handshake (absent the first time) */
const credentialOf = (socket: Sock) => (socket.handshake.auth as SocketAuth | undefined)?.credential;

type Refuse = (code: ErrorCode, error: string, reason?: ErrorReason) => JoinResult;
/** a refused join, as the client reads it */
const refusal: Refuse = (code, error, reason) => ({ ok: false, code, error, ...(reason ? { reason } : {}) });

/**
 * A checked join request of a connection: who this is (the connection's person, else the credential's, else a
 * new person, minted only for a valid link), then the room's channels and its member. Null: the connection
 * closed meanwhile (nothing to answer).
 */
async function joinRoom(
  socket: Sock,
  req: { roomId: string; token: string; name: string; sinceVersion?: number },
  d: JoinDeps,
  refuse: Refuse,
): Promise<{ result: JoinResult; joined?: Joined } | null> {
  const { roomId, token, name, sinceVersion } = req;
  // who this is: the person of this connection (a repeated join), else the credential's, else a new person
  let userId = socket.data.userId;
  let credential: string | undefined;
  if (!userId) {
    try {
      userId = (await d.identities.verify(credentialOf(socket)))?.id;
    } catch (err) {
      d.log(`identity check failed: ${(err as Error).message}`);
      return { result: refuse('unavailable', 'the engine cannot check who you are right now; try again in a moment') };
    }
  }
  // the room and the link before a new person is minted: a bad link never mints one (a person the owner
  // granted a role keeps it with a link the owner has since replaced)
  await d.rooms.check(roomId, token, userId ?? null);
  if (!userId) {
    try {
      if (d.mints && !d.mints.take(socket.handshake.address)) {
        const { limit, windowMs } = d.identityLimit!;
        const why = `too many new people from this address (at most ${limit} per ${Math.round(windowMs / 1000)} s); try again shortly`;
        return { result: refuse('rate_limited', why) };
      } else {
        const minted = await d.identities.mint();
        userId = minted.person.id;
        credential = minted.credential;
      }
    } catch (err) {
      d.log(`identity check failed: ${(err as Error).message}`);
      return { result: refuse('unavailable', 'the engine cannot check who you are right now; try again in a moment') };
    }
  }
  if (socket.disconnected) return null;
  // in the room's channels before the member exists: no frame or patch after the join is missed
  const before = socket.data;
  socket.data = { ...before, roomId, userId, name, token };
  await socket.join([channel(roomId), userChannel(roomId, userId)]);
  let joined: Joined;
  try {
    joined = await d.rooms.join({ roomId, token, userId, name, sinceVersion, socketId: socket.id });
  } catch (err) {
    if (!before.roomId) {
      socket.data = before;
      await socket.leave(channel(roomId));
      await socket.leave(userChannel(roomId, userId));
    }
    throw err;
  }
  if (socket.disconnected) {
    d.rooms.leave(roomId, userId, socket.id, true);
    return null;
  }
  socket.data.role = joined.role;
  d.rememberName(userId, name);
  const result: JoinResult = {
    ok: true,
    userId,
    ...(credential ? { credential } : {}),
    role: joined.role,
    state: wireState(joined.state),
    patches: joined.patches.map(wirePatch),
    members: joined.members,
    activity: joined.activity,
    pack: joined.pack,
    protocol: PROTOCOL_VERSION,
  };
  return { result, joined };
}
