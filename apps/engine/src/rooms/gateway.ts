// What the socket layer may do to a room, as plain data in and out: join, steer, presence, admin,
// leave. One engine answers it from its own RoomManager (LocalRooms); in a cluster, ClusterRooms
// (cluster/cluster.ts) sends the same calls to the engine that owns the room.
import { PpgnInputError } from '@ppgn/core';
import type { AdminAction, ConditionSpec, Frame, Intent, JoinResult, PresenceUpdate, Role } from '@ppgn/shared';
import { RoomError } from './model';
import type { LiveRoom, RoomManager } from './manager';

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
export type Joined = Omit<Extract<JoinResult, { ok: true }>, 'ok' | 'userId' | 'credential'> & {
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

export const LINK_INVALID = 'this link is not valid for the room';

/** Validation errors of the core are the caller's mistake: keep them as `invalid`. */
export function asRoomError(err: unknown): unknown {
  return err instanceof PpgnInputError ? new RoomError(err.message, 'invalid') : err;
}

/** The rooms of this engine's own manager. */
export class LocalRooms implements RoomGateway {
  constructor(readonly manager: RoomManager) {}

  room(roomId: string): LiveRoom {
    const room = this.manager.rooms.get(roomId);
    if (!room) throw new RoomError(`no room "${roomId}"`, 'not_found');
    return room;
  }

  private role(room: LiveRoom, token: string, userId: string): Role {
    const role = this.manager.roleFor(room, token, userId);
    if (!role) {
      if (!this.manager.tokenRole(room, token)) throw new RoomError(LINK_INVALID, 'forbidden');
      throw new RoomError('you were removed from this room', 'forbidden');
    }
    return role;
  }

  async check(roomId: string, token: string, personId: string | null): Promise<void> {
    const room = this.room(roomId);
    if (this.manager.tokenRole(room, token)) return;
    if (personId !== null && this.manager.roleFor(room, token, personId)) return;
    throw new RoomError(LINK_INVALID, 'forbidden');
  }

  async join(a: JoinArgs): Promise<Joined> {
    const room = this.room(a.roomId);
    const role = this.role(room, a.token, a.userId);
    this.manager.join(room, a.userId, a.name, role, a.socketId);
    const patches = a.recovered ? [] : a.sinceVersion !== undefined ? room.model.patchesSince(a.sinceVersion) : null;
    const pack = room.pack.manifest;
    return {
      role,
      state: a.recovered || patches ? null : room.model.snapshot(),
      patches: patches ?? [],
      members: this.manager.members(room),
      activity: a.recovered ? [] : room.activity,
      pack: {
        id: room.model.state.packId,
        conditions: pack.conditions.map((c): ConditionSpec =>
          c.kind === 'classes'
            ? { id: c.id, kind: 'classes', labels: c.labels }
            : c.kind === 'keywords'
              ? { id: c.id, kind: 'keywords', vocabulary: c.vocabulary }
              : { id: c.id, kind: 'units', layers: c.layers.map((l) => ({ name: l.name, channels: l.channels })) },
        ),
      },
      lastFrame: a.recovered ? null : room.lastFrame,
      chainError: room.chainError,
    };
  }

  async intent(roomId: string, caller: Caller, intent: Intent): Promise<number> {
    const room = this.room(roomId);
    const role = this.role(room, caller.token, caller.userId);
    try {
      const patch = await this.manager.intent(roomId, { userId: caller.userId, name: caller.name, role }, intent);
      return patch?.version ?? room.model.version;
    } catch (err) {
      throw asRoomError(err);
    }
  }

  presence(roomId: string, userId: string, p: PresenceUpdate): void {
    const room = this.manager.rooms.get(roomId);
    if (room) this.manager.presence(room, userId, p);
  }

  async admin(roomId: string, caller: Caller, action: AdminAction): Promise<number> {
    const room = this.room(roomId);
    const role = this.role(room, caller.token, caller.userId);
    await this.manager.admin(room, { userId: caller.userId, name: caller.name, role }, action);
    return room.model.version;
  }

  leave(roomId: string, userId: string, socketId: string, left: boolean): void {
    const room = this.manager.rooms.get(roomId);
    if (room) this.manager.disconnect(room, userId, socketId, left);
  }
}
