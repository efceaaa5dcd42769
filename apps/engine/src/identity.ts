// Server-issued identity. A person is whoever holds a credential the engine minted: a random
// bearer token (256 bits) given to their browser once, at their first join. Postgres keeps only
// its SHA-256, so any engine sharing the database can verify it; the person id comes from that
// row, never from the client. Roles, kicks and bans bind to the person id.
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '@ppgn/db';
import { CREDENTIAL_PATTERN } from '@ppgn/shared';

export interface Person {
  id: string;
}

const hash = (credential: string) => createHash('sha256').update(credential).digest('hex');

export class Identities {
  /** verified credentials (hash → person id); rows never change, so a hit stays true */
  private cache = new Map<string, string>();
  /** names this engine stored or read (person id → name), so that a repeated join writes nothing */
  private names = new Map<string, string>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly cacheSize = 10_000,
  ) {}

  /** A new person and their credential (shown once; only its hash is stored). */
  async mint(name?: string): Promise<{ person: Person; credential: string }> {
    const credential = randomBytes(32).toString('base64url');
    const id = `p${randomBytes(12).toString('base64url')}`;
    const secretHash = hash(credential);
    await this.prisma.person.create({ data: { id, secretHash, ...(name ? { name } : {}) } });
    if (name) this.names.set(id, name);
    this.remember(secretHash, id);
    return { person: { id }, credential };
  }

  /** The person a credential belongs to; null when it is malformed or unknown. Throws if the database is unreachable. */
  async verify(credential: unknown): Promise<Person | null> {
    if (typeof credential !== 'string' || !CREDENTIAL_PATTERN.test(credential)) return null;
    const secretHash = hash(credential);
    const cached = this.cache.get(secretHash);
    if (cached) return { id: cached };
    const row = await this.prisma.person.findUnique({ where: { secretHash }, select: { id: true } });
    if (!row) return null;
    this.remember(secretHash, row.id);
    return { id: row.id };
  }

  /** The name a person gave last (joining a room, renaming): the author shown on what they publish. */
  async setName(personId: string, name: string): Promise<void> {
    if (this.names.get(personId) === name) return;
    await this.prisma.person.update({ where: { id: personId }, data: { name } });
    this.rememberName(personId, name);
  }

  /** A person's name; null when they never gave one. */
  async nameOf(personId: string): Promise<string | null> {
    const known = this.names.get(personId);
    if (known !== undefined) return known;
    const row = await this.prisma.person.findUnique({ where: { id: personId }, select: { name: true } });
    if (row?.name) this.rememberName(personId, row.name);
    return row?.name ?? null;
  }

  private rememberName(personId: string, name: string) {
    if (this.names.size >= this.cacheSize) this.names.delete(this.names.keys().next().value!);
    this.names.set(personId, name);
  }

  private remember(secretHash: string, id: string) {
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(secretHash, id);
  }
}

/** The credential of an HTTP request: `Authorization: Bearer <credential>`. */
export function bearer(header: string | undefined): string | undefined {
  const m = header?.match(/^Bearer\s+(\S+)$/i);
  return m?.[1];
}
