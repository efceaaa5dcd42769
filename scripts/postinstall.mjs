// Runs after `npm install`: generates the Prisma client (offline: the "client" engine is
// WebAssembly shipped inside npm, no binary download). A failure here is reported but never
// fails the install, so that a partial environment can still run `npm test` and see why.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const prismaBin = 'node_modules/prisma/build/index.js';
if (!existsSync(prismaBin)) {
  console.log('[postinstall] prisma CLI not installed yet; skipping client generation');
  process.exit(0);
}
const r = spawnSync(process.execPath, [prismaBin, 'generate', '--config', 'prisma/prisma.config.ts'], {
  stdio: 'inherit',
  env: {
    // generate never connects; the schema's env("DATABASE_URL") just has to resolve.
    DATABASE_URL: 'postgresql://localhost/ppgn',
    ...process.env,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  },
});
if (r.status !== 0)
  console.warn('[postinstall] prisma generate failed; run `npx prisma generate --config prisma/prisma.config.ts`');
