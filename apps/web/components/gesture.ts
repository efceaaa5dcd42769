import { useCallback, useEffect, useRef, useState } from 'react';

/**
 * A value edited by a gesture (a slider dragged, or moved with the keyboard): it follows the
 * gesture locally and is committed once, when the gesture ends (pointer up/cancel, key up, blur),
 * so one drag makes one change in the room and one activity entry — not one per debounce tick.
 */
export function useGestureValue<T>(value: T, commit: (v: T) => unknown) {
  const [draft, setDraft] = useState<{ v: T } | null>(null);
  const draftRef = useRef<{ v: T } | null>(null);
  const moving = useRef(false);
  const commitRef = useRef(commit);
  commitRef.current = commit;
  const valueRef = useRef(value);
  valueRef.current = value;

  // someone else changed the value: show theirs unless we are in the middle of a gesture
  useEffect(() => {
    if (!moving.current) {
      draftRef.current = null;
      setDraft(null);
    }
  }, [value]);

  const move = useCallback((v: T) => {
    moving.current = true;
    draftRef.current = { v };
    setDraft({ v });
  }, []);

  const end = useCallback(() => {
    const d = draftRef.current;
    moving.current = false;
    if (!d) return;
    if (Object.is(d.v, valueRef.current)) {
      draftRef.current = null;
      setDraft(null);
      return;
    }
    // keep showing the committed value until the room's patch (or a refusal) comes back
    void Promise.resolve(commitRef.current(d.v)).finally(() => {
      if (draftRef.current === d && !moving.current) {
        draftRef.current = null;
        setDraft(null);
      }
    });
  }, []);

  return {
    value: draft ? draft.v : value,
    move,
    end,
    /** spread on an <input type="range">, next to its onChange calling move() */
    endProps: { onPointerUp: end, onPointerCancel: end, onKeyUp: end, onBlur: end },
  };
}
