'use client';

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { DEFAULT_ENGINE_PORT } from '@ppgn/shared';
import { engineUrl, type EngineLocation } from '../app/engine';

// ------------------------------------------------------------------ engine location

const EngineCtx = createContext<EngineLocation>({ publicUrl: null, port: DEFAULT_ENGINE_PORT });

/** The engine's base URL as the browser reaches it; null during server rendering. */
export function useEngineBase(): string | null {
  const loc = useContext(EngineCtx);
  const [base, setBase] = useState<string | null>(null);
  useEffect(() => setBase(engineUrl(loc, window.location)), [loc]);
  return base;
}

// ------------------------------------------------------------------ toasts

export interface Toast {
  id: number;
  kind: 'error' | 'info' | 'ok';
  message: string;
}
type Push = (kind: Toast['kind'], message: string) => void;
const ToastCtx = createContext<Push>(() => {});

export function useToast(): Push {
  return useContext(ToastCtx);
}

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const next = useRef(1);
  const dismiss = useCallback((id: number) => setToasts((t) => t.filter((x) => x.id !== id)), []);
  const push = useCallback<Push>(
    (kind, message) => {
      const id = next.current++;
      setToasts((t) => {
        // the same message twice in a row just refreshes
        const rest = t.filter((x) => x.message !== message);
        return [...rest, { id, kind, message }].slice(-4);
      });
      setTimeout(() => dismiss(id), kind === 'error' ? 7000 : 3500);
    },
    [dismiss],
  );
  return (
    <ToastCtx.Provider value={push}>
      {children}
      <div className="toasts" aria-live="polite" aria-relevant="additions">
        {toasts.map((t) => (
          <div
            key={t.id}
            className={`toast ${t.kind}`}
            role={t.kind === 'error' ? 'alert' : 'status'}
            data-testid="toast"
          >
            <span>{t.message}</span>
            <button type="button" className="icon" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
    </ToastCtx.Provider>
  );
}

export function Providers({ engine, children }: { engine: EngineLocation; children: ReactNode }) {
  const value = useMemo(() => engine, [engine.publicUrl, engine.port]);
  return (
    <EngineCtx.Provider value={value}>
      <ToastProvider>{children}</ToastProvider>
    </EngineCtx.Provider>
  );
}
