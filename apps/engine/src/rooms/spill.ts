// Changes the database did not take before the engine stopped (an outage at shutdown) are written to a local file
// per room instead of being dropped, and replayed into Postgres at the next start: an acknowledged change is lost
// only with the machine's disk. A replay never rolls a room back: a room whose stored version is already at or past
// the spilled one keeps its state (only missing activity entries are added).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PendingWrite, RoomStore } from './store';
import { mergePending } from './writer';

const FORMAT = 'ppgn-unsaved/1';

type Json = Omit<PendingWrite, 'contextPng' | 'checkpoint'> & {
  contextPng?: string | null;
  checkpoint?: { step: number; h: string };
};

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

function toJson(w: PendingWrite): Json {
  return {
    ...w,
    contextPng: w.contextPng === undefined ? undefined : w.contextPng === null ? null : b64(w.contextPng),
    checkpoint: w.checkpoint
      ? {
          step: w.checkpoint.step,
          h: b64(new Uint8Array(w.checkpoint.h.buffer, w.checkpoint.h.byteOffset, w.checkpoint.h.byteLength)),
        }
      : undefined,
  };
}

function fromJson(j: Json): PendingWrite {
  const out: PendingWrite = { ...j, contextPng: undefined, checkpoint: undefined, activity: j.activity ?? [] };
  if (j.contextPng !== undefined)
    out.contextPng = j.contextPng === null ? null : new Uint8Array(Buffer.from(j.contextPng, 'base64'));
  else delete out.contextPng;
  if (j.checkpoint) {
    const bytes = Buffer.from(j.checkpoint.h, 'base64');
    out.checkpoint = { step: j.checkpoint.step, h: new Float32Array(new Uint8Array(bytes).buffer) };
  } else delete out.checkpoint;
  return out;
}

const fileOf = (dir: string, roomId: string) => path.join(dir, `${roomId}.json`);

/** Keep a room's unsaved changes on disk (merged after any earlier spill of the same room). */
export function spillRoom(dir: string, roomId: string, w: PendingWrite): string {
  mkdirSync(dir, { recursive: true });
  const file = fileOf(dir, roomId);
  const earlier = existsSync(file) ? readSpill(file)?.pending : undefined;
  const body = JSON.stringify({ format: FORMAT, roomId, pending: toJson(earlier ? mergePending(earlier, w) : w) });
  // written whole or not at all: a crash mid-write leaves the earlier file
  writeFileSync(`${file}.tmp`, body);
  renameSync(`${file}.tmp`, file);
  return file;
}

function readSpill(file: string): { roomId: string; pending: PendingWrite } | null {
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { format?: string; roomId?: string; pending?: Json };
    if (j.format !== FORMAT || typeof j.roomId !== 'string' || !j.pending) return null;
    return { roomId: j.roomId, pending: fromJson(j.pending) };
  } catch {
    return null;
  }
}

/**
 * Write every spilled room's changes into Postgres (oldest rooms first); a file is removed once its room took
 * it (or no longer exists). Returns how many rooms were replayed; a failure leaves the file for the next start.
 */
export async function replaySpilled(
  store: RoomStore,
  dir: string,
  log: (line: string) => void,
): Promise<{ replayed: number; changes: number; kept: number }> {
  const out = { replayed: 0, changes: 0, kept: 0 };
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const file = path.join(dir, name);
    const spilled = readSpill(file);
    if (!spilled) {
      log(`unsaved changes in ${file} cannot be read; moved aside to ${file}.bad`);
      renameSync(file, `${file}.bad`);
      continue;
    }
    try {
      const r = await store.replay(spilled.roomId, spilled.pending);
      if (r === 'gone') log(`room ${spilled.roomId}: unsaved changes dropped (the room no longer exists)`);
      else {
        out.replayed++;
        out.changes += spilled.pending.activity.length;
        if (r === 'older') log(`room ${spilled.roomId}: the database had newer state; only missing history was added`);
      }
      rmSync(file);
    } catch (err) {
      out.kept++;
      log(
        `room ${spilled.roomId}: unsaved changes not replayed yet (${(err as Error).message.split('\n')[0]}); kept in ${file}`,
      );
    }
  }
  return out;
}
