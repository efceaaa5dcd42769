/** Where the browser reaches the engine: ENGINE_PUBLIC_URL, else the page's host on ENGINE_PORT. */
export interface EngineLocation {
  publicUrl: string | null;
  port: number;
}

export function engineUrl(loc: EngineLocation, pageLocation: { protocol: string; hostname: string }): string {
  if (loc.publicUrl) return loc.publicUrl.replace(/\/+$/, '');
  return `${pageLocation.protocol}//${pageLocation.hostname}:${loc.port}`;
}
