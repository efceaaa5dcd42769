// What a room tells the people in it (the socket layer delivers it: rooms/socket.ts `socketEvents`).
import type { ActivityItem, Frame, Member, Role, RoomPatch } from '@ppgn/shared';

export interface RoomEvents {
  patch(roomId: string, patch: RoomPatch): void;
  /** frames are volatile (slow clients drop them) unless `reliable` (a one-off picture nobody may miss) */
  frame(roomId: string, frame: Frame, reliable?: boolean): void;
  /** `presenceOnly`: only cursors or names moved (best-effort delivery) */
  members(roomId: string, members: Member[], presenceOnly?: boolean): void;
  activity(roomId: string, item: ActivityItem): void;
  kicked(roomId: string, userId: string, reason: string): void;
  role(roomId: string, userId: string, role: Role): void;
  /** the room's chain failed and is quarantined (error), or runs again (null) */
  chainError(roomId: string, error: string | null): void;
}
