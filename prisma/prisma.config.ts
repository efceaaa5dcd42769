// Prisma CLI configuration. The JS engine ("client" engine type + driver adapter) is the only
// Prisma setup that works with no native engine download (offline installs). Migrations are
// applied by packages/db/src/migrate.ts, not by `prisma migrate` (see packages/db/README.md).
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join(__dirname, 'schema.prisma'),
  migrations: { path: path.join(__dirname, 'migrations') },
  async adapter() {
    return new PrismaPg({ connectionString: process.env.DATABASE_URL ?? 'postgresql://localhost/ppgn' });
  },
});
