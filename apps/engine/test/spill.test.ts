import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newRoomState } from '../src/rooms/defaults';
import { replaySpilled, spillRoom } from '../src/rooms/spill';
import type { PendingWrite, RoomStore } from '../src/rooms/store';

/** a store that records what a replay hands it ('gone' for unknown rooms) */
function recordingStore(known: string[]) {
  const got: [string, PendingWrite][] = [];
  const store = {
    async replay(id: string, w: PendingWrite) {
      if (!known.includes(id)) return 'gone' as const;
      got.push([id, w]);
      return 'written' as const;
    },
  } as unknown as RoomStore;
  return { store, got };
}

describe('unsaved changes kept on disk', () => {
  it('round-trips every field (state, context bytes, the checkpoint code, access, activity) and merges a second spill', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spill-'));
    const s1 = { ...newRoomState('r1', 'One', 'pack', {}), version: 4 };
    const h = Float32Array.from([0.5, -1.25, 3e-8, 7]);
    spillRoom(dir, 'r1', {
      state: s1,
      contextPng: Uint8Array.from([137, 80, 78, 71]),
      checkpoint: { step: 12, h },
      activity: [{ version: 4, author: 'a', kind: 'rename', payload: { name: 'One' } }],
    });
    const s2 = { ...s1, name: 'Two', version: 5 };
    spillRoom(dir, 'r1', {
      state: s2,
      access: { banned: ['x'] },
      activity: [{ version: 5, author: 'a', kind: 'rename', payload: { name: 'Two' } }],
    });
    writeFileSync(path.join(dir, 'junk.json'), '{ not json');
    const { store, got } = recordingStore(['r1']);
    const logs: string[] = [];
    const r = await replaySpilled(store, dir, (l) => logs.push(l));
    expect(r).toEqual({ replayed: 1, changes: 2, kept: 0 });
    const [id, w] = got[0]!;
    expect(id).toBe('r1');
    expect(w.state).toEqual(s2);
    expect(Array.from(w.contextPng!)).toEqual([137, 80, 78, 71]);
    expect(w.checkpoint!.step).toBe(12);
    expect(Array.from(w.checkpoint!.h)).toEqual(Array.from(h));
    expect(w.access).toEqual({ banned: ['x'] });
    expect(w.activity.map((a) => a.version)).toEqual([4, 5]);
    // the replayed file is gone; an unreadable one is moved aside and named in the log, never thrown
    expect(readdirSync(dir).sort()).toEqual(['junk.json.bad']);
    expect(logs.join('\n')).toMatch(/junk\.json cannot be read; moved aside/);
  });

  it('a room that no longer exists is dropped with a line; a failing write keeps the file for the next start', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spill-'));
    spillRoom(dir, 'gone', { activity: [{ version: 2, author: 'a', kind: 'k', payload: {} }] });
    spillRoom(dir, 'later', { activity: [{ version: 2, author: 'a', kind: 'k', payload: {} }] });
    const logs: string[] = [];
    const failing = {
      async replay(id: string) {
        if (id === 'gone') return 'gone' as const;
        throw new Error('database unreachable');
      },
    } as unknown as RoomStore;
    expect(await replaySpilled(failing, dir, (l) => logs.push(l))).toEqual({ replayed: 0, changes: 0, kept: 1 });
    expect(readdirSync(dir)).toEqual(['later.json']);
    expect(logs.join('\n')).toMatch(/room gone: unsaved changes dropped \(the room no longer exists\)/);
    expect(logs.join('\n')).toMatch(/room later: unsaved changes not replayed yet \(database unreachable\)/);
  });
});
