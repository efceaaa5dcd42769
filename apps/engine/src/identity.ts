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

/** a verified credential is trusted from memory this long: a replaced one stops working on every engine within it */
export const CREDENTIAL_CACHE_MS = 60_000;
/** a credential nobody used for this long no longer proves anyone (the browser becomes a new person) */
export const CREDENTIAL_EXPIRY_MS = 180 * 24 * 3600_000;
const SEEN_EVERY_MS = 24 * 3600_000;

export class Identities {
  /** verified credentials (hash → person id, when verified): trusted for CREDENTIAL_CACHE_MS, longer only while
   * the database cannot be asked */
  private cache = new Map<string, { id: string; at: number }>();
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
    const now = Date.now();
    if (cached && now - cached.at < CREDENTIAL_CACHE_MS) return { id: cached.id };
    let row: { id: string; lastSeenAt: Date } | null;
    try {
      row = await this.prisma.person.findUnique({ where: { secretHash }, select: { id: true, lastSeenAt: true } });
    } catch (err) {
      if (cached) return { id: cached.id }; // the database is away: who was verified stays verified
      throw err;
    }
    if (!row || now - row.lastSeenAt.getTime() > CREDENTIAL_EXPIRY_MS) {
      this.cache.delete(secretHash);
      return null;
    }
    if (now - row.lastSeenAt.getTime() > SEEN_EVERY_MS)
      void this.prisma.person.update({ where: { id: row.id }, data: { lastSeenAt: new Date(now) } }).catch(() => {});
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

  /**
   * Replace a person's credential (it leaked, or they want this browser forgotten): the old one stops proving
   * them (on this engine at once, on the others within CREDENTIAL_CACHE_MS); the new one is shown once.
   */
  async rotate(personId: string, old: string): Promise<string> {
    const credential = randomBytes(32).toString('base64url');
    const secretHash = hash(credential);
    await this.prisma.person.update({ where: { id: personId }, data: { secretHash, lastSeenAt: new Date() } });
    this.cache.delete(hash(old));
    this.remember(secretHash, personId);
    return credential;
  }

  private remember(secretHash: string, id: string) {
    this.cache.delete(secretHash);
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(secretHash, { id, at: Date.now() });
  }
}

/** The credential of an HTTP request: `Authorization: Bearer <credential>`. */
export function bearer(header: string | undefined): string | undefined {
  const m = header?.match(/^Bearer\s+(\S+)$/i);
  return m?.[1];
}
