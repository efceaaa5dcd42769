/** Ports and URLs shared by the web app, the engine and the tests. */
export const DEFAULT_WEB_PORT = 3000;
export const DEFAULT_ENGINE_PORT = 4000;

export function parsePort(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new Error(`${name} must be a port number between 1 and 65535 (got "${value}")`);
  }
  return n;
}
