// HTTP + Socket.IO server wiring. Routes are thin: they translate, the domain lives elsewhere.
import http from 'node:http';
import express from 'express';
import { Server as IOServer } from 'socket.io';
import { errorBody, httpStatus, type Health, type PackSummary } from '@ppgn/shared';
import { ENGINE_VERSION } from './config';
import { toHttpError } from './errors';
import { listenError } from './ports';

export interface EngineDeps {
  backend: Health['backend'];
  packs: PackSummary[];
  db: { ping(): Promise<boolean>; embedded: boolean; countRooms(): Promise<number>; countGallery(): Promise<number> };
  runningRooms(): number;
  /** this engine (id, load; peers in a cluster) for /health */
  engine?: () => Health['engine'];
  /** Express's `trust proxy`: behind a reverse proxy, req.ip (HTTP rate limits) is the client's from X-Forwarded-For */
  trustProxy?: boolean | number | string;
  /** API routes mounted at / (rooms, gallery, packs) */
  routes?: express.Router;
}

export interface EngineServer {
  app: express.Express;
  httpServer: http.Server;
  io: IOServer;
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

export function createEngineServer(deps: EngineDeps): EngineServer {
  const started = Date.now();
  const app = express();
  app.disable('x-powered-by');
  if (deps.trustProxy !== undefined) app.set('trust proxy', deps.trustProxy);
  app.use((req, res, next) => {
    // Only origin-form targets ("/rooms?…"): an absolute-form request line ("POST http://host/rooms") is
    // what proxies receive, never a browser's request to this API, and it must not steer where a cluster
    // forwards the request.
    if (!req.url.startsWith('/'))
      return void res
        .status(httpStatus('invalid'))
        .json(errorBody('invalid', 'the request target must be a path ("/rooms/…"), not an absolute URL'));
    next();
  });
  app.use((req, res, next) => {
    // The studio's web app runs on another port; the engine's API is public to it.
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'content-type, authorization');
    res.setHeader('Access-Control-Allow-Methods', 'GET,POST,PUT,PATCH,DELETE,OPTIONS');
    if (req.method === 'OPTIONS') return void res.status(204).end();
    next();
  });
  app.use(express.json({ limit: '3mb' }));

  app.get('/health', async (_req, res) => {
    const reachable = await deps.db.ping();
    const total = reachable ? await deps.db.countRooms().catch(() => 0) : 0;
    const items = reachable ? await deps.db.countGallery().catch(() => 0) : 0;
    const body: Health = {
      ok: reachable && deps.packs.length > 0,
      version: ENGINE_VERSION,
      backend: deps.backend,
      packs: deps.packs,
      database: { reachable, embedded: deps.db.embedded },
      rooms: { running: deps.runningRooms(), total },
      gallery: { items },
      uptimeS: (Date.now() - started) / 1000,
      ...(deps.engine ? { engine: deps.engine() } : {}),
    };
    res.status(body.ok ? 200 : 503).json(body);
  });

  if (deps.routes) app.use(deps.routes);

  app.use((_req, res) => {
    res.status(httpStatus('not_found')).json(errorBody('not_found', 'not found'));
  });
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const { status, body, unexpected } = toHttpError(err);
    if (unexpected) console.error('[engine] request failed:', err);
    res.status(status).json(body);
  });

  const httpServer = http.createServer(app);
  const io = new IOServer(httpServer, {
    cors: { origin: true },
    maxHttpBufferSize: 2e6,
    // a dropped transport gets its socket back (rooms, data, missed events) for 2 min; the room
    // middleware still runs on it (skipMiddlewares: false) to check the credential of the new handshake
    connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: false },
  });

  return {
    app,
    httpServer,
    io,
    listen(port, host = '0.0.0.0') {
      return new Promise((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => {
          httpServer.off('listening', onListening);
          reject(listenError(err, port));
        };
        const onListening = () => {
          httpServer.off('error', onError);
          const addr = httpServer.address();
          resolve(typeof addr === 'object' && addr ? addr.port : port);
        };
        httpServer.once('error', onError);
        httpServer.once('listening', onListening);
        httpServer.listen(port, host);
      });
    },
    async close() {
      io.close();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
