// A models directory with one small pack for tests that start the engine.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export async function makeModelsDir(dir: string, id = 'testpack'): Promise<string> {
  const packDir = path.join(dir, id);
  mkdirSync(packDir, { recursive: true });
  writeFileSync(path.join(packDir, 'manifest.json'), JSON.stringify({ name: id, version: '0.0.1' }));
  return dir;
}
