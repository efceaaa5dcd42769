import net from 'node:net';
import { StartupError } from './errors';

/** Fail fast (before starting Postgres or loading models) when the port is taken. */
export async function assertPortFree(port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new StartupError(`port ${port} is already in use`, 'stop the other process or set ENGINE_PORT to a free port'));
      } else if (err.code === 'EACCES') {
        reject(new StartupError(`no permission to listen on port ${port}`, 'set ENGINE_PORT to a port above 1024'));
      } else reject(err);
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
