// HTTP responses of the engine that the web app reads (one definition for both sides).
import type { PackSummary } from './health';
import type { ConditionSpec } from './room';

/** GET /packs: one entry per loaded pack. */
export interface PackInfo extends PackSummary {
  description?: string;
  licence?: string;
  attribution?: string;
  /** the pack's conditions, typed as rooms use them (what each condition can target) */
  conditionSpecs: ConditionSpec[];
}

export interface RoomLinks {
  owner: string;
  editor: string;
  viewer: string;
}

/** POST /rooms, POST /rooms/:id/fork, POST /gallery/:id/remix and /mix: the new room and its links. */
export interface CreatedRoom {
  id: string;
  tokens: RoomLinks;
  links: RoomLinks;
}
