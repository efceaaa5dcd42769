// What the socket layer may do to a room, as plain data in and out: join, steer, presence, admin,
// leave. One engine answers it from its own rooms (LocalRooms, which HTTP routes use too); in a cluster,
// ClusterRooms (cluster/cluster.ts) sends the same calls to the engine that owns the room.
import { PpgnInputError } from '@ppgn/core';
import type { AdminAction, Frame, Intent, JoinResult, PresenceUpdate, Role } from '@ppgn/shared';
import { wireConditions } from '../runtime';
import { RoomError } from './errors';
import { LINK_INVALID, assertMay } from './access';
import type { RoomManager } from './manager';
import type { Room } from './room';
import type { RoomTokens } from './store';

export interface JoinArgs {
  roomId: string;
  token: string;
  userId: string;
  name: string;
  /** resync from this version (patches), else the full state */
  sinceVersion?: number;
  socketId: string;
  /** a recovered connection: register the member, skip the state */
  recovered?: boolean;
}

/** what a join gives the socket layer: the join reply (less who you are) and what to send right after it */
export type Joined = Omit<Extract<JoinResult, { ok: true }>, 'ok' | 'userId' | 'credential' | 'protocol'> & {
  lastFrame: Frame | null;
  chainError: string | null;
};

/** who acts: the person (from the credential) and the link they hold (the owner recomputes the role from both) */
export interface Caller {
  userId: string;
  name: string;
  token: string;
}

export interface RoomGateway {
  /**
   * the room exists and the link is valid for it, or the person (when known) holds a grant there; checked
   * before a new person is minted
   */
  check(roomId: string, token: string, personId: string | null): Promise<void>;
  join(a: JoinArgs): Promise<Joined>;
  /** returns the room's version after the change */
  intent(roomId: string, caller: Caller, intent: Intent): Promise<number>;
  presence(roomId: string, userId: string, p: PresenceUpdate): void;
  admin(roomId: string, caller: Caller, action: AdminAction): Promise<number>;
  leave(roomId: string, userId: string, socketId: string, left: boolean): void;
}

/** Validation errors of the core are the caller's mistake: keep them as `invalid`. */
export function asRoomError(err: unknown): unknown {
  return err instanceof PpgnInputError ? new RoomError(err.message, 'invalid') : err;
}

/**
 * The rooms of this engine's own manager: the one door to them. Sockets (through RoomGateway), HTTP routes and
 * the cluster's calls from other engines come in here; every call is authorised by the room's Access policy
 * and handed to the Room, which makes the change.
 */
export class LocalRooms implements RoomGateway {
  constructor(readonly manager: RoomManager) {}

  room(roomId: string): Room {
    return this.manager.get(roomId);
  }

  /** Reads (state, frames, history): a valid link of the room is enough. */
  reader(roomId: string, token: string): Room {
    const room = this.room(roomId);
    if (!room.access.tokenRole(token)) throw new RoomError(LINK_INVALID, 'forbidden', 'link_invalid');
    return room;
  }

  /** Changes: the room and the role of this person with this link (refused: not the room's link, or removed). */
  authorise(roomId: string, token: string, personId: string): { room: Room; role: Role } {
    const room = this.room(roomId);
    return { room, role: room.access.roleOf(token, personId) };
  }

  async check(roomId: string, token: string, personId: string | null): Promise<void> {
    if (!this.room(roomId).access.admits(token, personId))
      throw new RoomError(LINK_INVALID, 'forbidden', 'link_invalid');
  }

  async join(a: JoinArgs): Promise<Joined> {
    const { room, role } = this.authorise(a.roomId, a.token, a.userId);
    room.join(a.userId, a.name, role, a.socketId);
    const patches = a.recovered ? [] : a.sinceVersion !== undefined ? room.model.patchesSince(a.sinceVersion) : null;
    return {
      role,
      state: a.recovered || patches ? null : room.model.snapshot(),
      patches: patches ?? [],
      members: room.presence.list(),
      activity: a.recovered ? [] : room.activity,
      pack: { id: room.model.state.packId, conditions: wireConditions(room.pack) },
      lastFrame: a.recovered ? null : room.lastFrame,
      chainError: room.chainError,
    };
  }

  async intent(roomId: string, caller: Caller, intent: Intent): Promise<number> {
    const { room, role } = this.authorise(roomId, caller.token, caller.userId);
    try {
      const patch = await room.steer({ userId: caller.userId, name: caller.name, role }, intent);
      return patch.version;
    } catch (err) {
      throw asRoomError(err);
    }
  }

  /** Start the chain from an uploaded picture (h₀ = E(x), encoded in a sampler worker). */
  async startFromImage(roomId: string, caller: Caller, png: Uint8Array): Promise<number> {
    const { room, role } = this.authorise(roomId, caller.token, caller.userId);
    assertMay(role, 'steer', room.model.state.locked);
    const h = await this.manager.pictures.encodeUpload(room.model.state.packId, png);
    return (await room.startFrom({ userId: caller.userId, name: caller.name, role }, h)).version;
  }

  presence(roomId: string, userId: string, p: PresenceUpdate): void {
    this.manager.rooms.get(roomId)?.presence.update(userId, p);
  }

  async admin(roomId: string, caller: Caller, action: AdminAction): Promise<number> {
    const { room, role } = this.authorise(roomId, caller.token, caller.userId);
    await room.admin({ userId: caller.userId, name: caller.name, role }, action);
    return room.model.version;
  }

  async replaceLinks(roomId: string, caller: Caller): Promise<RoomTokens> {
    const { room, role } = this.authorise(roomId, caller.token, caller.userId);
    return room.replaceLinks({ userId: caller.userId, name: caller.name, role });
  }

  leave(roomId: string, userId: string, socketId: string, left: boolean): void {
    this.manager.rooms.get(roomId)?.disconnect(userId, socketId, left);
  }
}
