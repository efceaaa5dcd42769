import { useEffect, useRef } from 'react';

/** A debounced callback that can also be flushed (on release) and is cancelled on unmount. */
export function useDebounced<A extends unknown[]>(fn: (...args: A) => void, ms: number) {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const lastArgs = useRef<A | null>(null);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  const api = useRef({
    call(...args: A) {
      lastArgs.current = args;
      if (timer.current) clearTimeout(timer.current);
      timer.current = setTimeout(() => api.flush(), ms);
    },
    flush() {
      if (timer.current) clearTimeout(timer.current);
      timer.current = null;
      const a = lastArgs.current;
      lastArgs.current = null;
      if (a) fnRef.current(...a);
    },
    pending: () => lastArgs.current !== null,
  }).current;
  return api;
}

export function shortId(prefix: string): string {
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return `${prefix}${Array.from(b, (x) => abc[x % abc.length]).join('')}`;
}
