// The web app's configuration, read in one place: where the browser reaches the engine.
import { DEFAULT_ENGINE_PORT, parsePort } from '@ppgn/shared';

/** Where the browser reaches the engine: ENGINE_PUBLIC_URL, else the page's host on ENGINE_PORT. */
export interface EngineLocation {
  publicUrl: string | null;
  port: number;
}

export function engineUrl(loc: EngineLocation, pageLocation: { protocol: string; hostname: string }): string {
  if (loc.publicUrl) return loc.publicUrl.replace(/\/+$/, '');
  return `${pageLocation.protocol}//${pageLocation.hostname}:${loc.port}`;
}

/** Read from the environment at request time (the pages are dynamic, so a restart with new values applies). */
export function engineLocation(env: NodeJS.ProcessEnv = process.env): EngineLocation {
  return {
    port: parsePort(env.ENGINE_PORT, DEFAULT_ENGINE_PORT, 'ENGINE_PORT'),
    publicUrl: env.ENGINE_PUBLIC_URL || null,
  };
}
