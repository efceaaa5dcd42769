import net from 'node:net';
import { StartupError } from './errors';

/** A listen error as the user should read it: busy or forbidden port → StartupError with a hint. */
export function listenError(err: NodeJS.ErrnoException, port: number): Error {
  if (err.code === 'EADDRINUSE')
    return new StartupError(
      `port ${port} is already in use`,
      'stop the other process or set ENGINE_PORT to a free port',
    );
  if (err.code === 'EACCES')
    return new StartupError(`no permission to listen on port ${port}`, 'set ENGINE_PORT to a port above 1024');
  return err;
}

/** Fail fast (before starting Postgres or loading models) when the port is taken. */
export async function assertPortFree(port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, port)));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
