// Entry file of a sampler worker thread. The engine runs TypeScript directly (tsx), and a worker thread
// does not inherit the parent's tsx loader on Node 20, so it is registered here before the TypeScript
// entry is imported. A compiled entry (.js) is imported as it is.
import { workerData } from 'node:worker_threads';

if (/\.[cm]?ts$/.test(workerData.entry)) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.entry);
