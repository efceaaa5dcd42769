// A sampler worker thread: its own net runtime (the backend the engine chose) and packs, and a ChainHost for the rooms placed on it.
// Requests are answered one at a time, in order (a step never overlaps a steering change); h and PNG
// bytes go back as transferred ArrayBuffers. Started by pool.ts through worker-boot.mjs.
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type Pack } from '@ppgn/core';
import { loadPack } from '@ppgn/core/node';
import { ChainHost } from './host';
import { serialiseError, transferables, type FromWorker, type ToWorker, type WorkerInit } from './protocol';

const init = workerData as WorkerInit;
const port = parentPort!;
const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

async function main() {
  const info = await initBackend(init.backend as never, { log: () => {} });
  const packs = new Map<string, Pack>();
  for (const p of init.packs) packs.set(p.id, await loadPack(p.dir));
  const host = new ChainHost(packs, (line) => send({ type: 'log', line }));
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (req: ToWorker) => {
    if ('type' in req) {
      // the pool is ending this worker: say so once nothing is running. ONNX Runtime runs a session
      // off this thread and calls back into it; a thread ended under a run in flight crashes the process.
      queue = queue.then(() => send({ type: 'closed' }));
      return;
    }
    queue = queue.then(async () => {
      try {
        const fn = host[req.method] as (...a: unknown[]) => unknown;
        const { value, transfer } = transferables(await fn.apply(host, req.args));
        send({ type: 'result', id: req.id, ok: true, value }, transfer);
      } catch (err) {
        send({ type: 'result', id: req.id, ok: false, error: serialiseError(err) });
      }
    });
  });
  send({ type: 'ready', backend: info.backend });
}

main().catch((err) => send({ type: 'fatal', error: serialiseError(err) }));
