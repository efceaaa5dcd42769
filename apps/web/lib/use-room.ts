'use client';

import { useEffect, useState, useSyncExternalStore } from 'react';
import { RoomClient, initialView, type RoomClientOptions, type RoomView } from './room-client';

const idle = initialView;
const noop = () => () => {};

/** Connects a RoomClient while the component is mounted (null options = not yet). */
export function useRoom(opts: RoomClientOptions | null): { view: RoomView; client: RoomClient | null } {
  const [client, setClient] = useState<RoomClient | null>(null);
  const key = opts ? `${opts.base}|${opts.roomId}|${opts.token}` : '';
  useEffect(() => {
    if (!opts) return;
    const c = new RoomClient(opts);
    c.start();
    setClient(c);
    return () => {
      c.stop();
      setClient(null);
    };
  }, [key]);
  const view = useSyncExternalStore(client?.subscribe ?? noop, client ? client.getSnapshot : () => idle, () => idle);
  return { view, client };
}
