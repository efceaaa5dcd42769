// HTTP API for rooms and the gallery. Thin: parse with zod, call the domain, errors → { error: { code, message } }.
import { gzipSync } from 'node:zlib';
import express from 'express';
import { ipKeyGenerator, rateLimit, type Store } from 'express-rate-limit';
import { clientAddress } from './cluster/client-address';
import { z } from 'zod';
import {
  ConditionTarget,
  LIMITS,
  SamplerParams,
  describeRecipe,
  describeZodError,
  errorBody,
  httpStatus,
  type PackInfo,
  type Role,
} from '@ppgn/shared';
import { HTTP_LIMITS, type HttpLimits } from './config';
import { ApiError, toHttpError } from './errors';
import { Gallery, ListQuery, mixConditions, savedSettings } from './gallery';
import { bearer, type Identities } from './identity';
import { Previews } from './previews';
import type { RoomManager } from './rooms/manager';
import { LocalRooms } from './rooms/gateway';
import { assertMay } from './rooms/access';
import type { Room } from './rooms/room';
import { isPictureRef, pictureOf, wireState } from './rooms/wire';
import { wireConditions, type EnginePack } from './runtime';

const Author = z.string().trim().min(1).max(LIMITS.nameLength);
const WithToken = z.object({ token: z.string().min(1).max(128) });

const CreateRoom = z.object({
  name: z.string().max(LIMITS.roomNameLength).optional(),
  packId: z.string().max(64).optional(),
  author: Author.default('anonymous'),
  conditions: z
    .array(z.object({ target: ConditionTarget, weight: z.number().min(-10).max(10).optional() }))
    .max(LIMITS.conditions)
    .optional(),
  params: SamplerParams.partial().optional(),
  running: z.boolean().optional(),
  /** start from this image: base64 PNG (h₀ = E(x)) */
  imagePng: z
    .string()
    .max(Math.ceil((LIMITS.uploadBytes * 4) / 3) + 8, `images are at most ${LIMITS.uploadBytes / 1e6} MB`)
    .optional(),
});
// `author` fields of writes are accepted for older clients and ignored: the author is the credential's person
const StartImage = WithToken.extend({
  imagePng: z
    .string()
    .min(1)
    .max(Math.ceil((LIMITS.uploadBytes * 4) / 3) + 8, `images are at most ${LIMITS.uploadBytes / 1e6} MB`),
  author: Author.optional(),
});

const SaveItem = WithToken.extend({
  roomId: z.string().min(1).max(64),
  title: z.string().trim().max(80).optional(),
  author: Author.optional(),
  step: z.number().int().min(0).optional(),
  parentId: z.string().max(64).optional(),
  /** one per intended save (a double click sends the same key): a repeat returns the first item */
  idempotencyKey: z
    .string()
    .regex(/^[A-Za-z0-9_-]{8,64}$/, 'idempotencyKey must be 8–64 letters, digits, _ or -')
    .optional(),
});
const Fork = WithToken.extend({
  step: z.number().int().min(0).optional(),
  author: Author.optional(),
  name: z.string().max(LIMITS.roomNameLength).optional(),
});
const Remix = z.object({ author: Author, name: z.string().max(LIMITS.roomNameLength).optional() });
const Mix = z.object({
  a: z.string().min(1).max(64),
  b: z.string().min(1).max(64),
  t: z.number().min(0).max(1).default(0.5),
  author: Author.optional(),
  title: z.string().trim().max(80).optional(),
});
/** `starred`: the star this person wants on the item (`delta` ±1 is the older form of the same) */
const NewPerson = z.object({ name: Author });
const Rename = z.object({
  title: z.string().trim().min(1, 'a title needs at least one character').max(80, 'titles are at most 80 characters'),
});
const shorten = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const Star = z
  .object({ starred: z.boolean().optional(), delta: z.union([z.literal(1), z.literal(-1)]).optional() })
  .transform((b) => ({ starred: b.starred ?? b.delta !== -1 }));

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ApiError('invalid', describeZodError(r.error));
  return r.data;
}

type Handler = (req: express.Request, res: express.Response) => Promise<void>;
const wrap =
  (fn: Handler): express.RequestHandler =>
  (req, res) => {
    fn(req, res).catch((err) => {
      const { status, body, unexpected } = toHttpError(err);
      if (unexpected) console.error('[engine] request failed:', err);
      res.status(status).json(body);
    });
  };

function png(res: express.Response, bytes: Uint8Array, filename?: string) {
  res.setHeader('Content-Type', 'image/png');
  if (filename) res.setHeader('Content-Disposition', `inline; filename="${filename}"`);
  else if (!res.getHeader('Cache-Control')) res.setHeader('Cache-Control', 'no-store');
  res.end(Buffer.from(bytes));
}

/** Where the limiters count (default: this engine's memory; in a cluster, Redis: one budget over every engine). */
export type LimitStore = (name: string) => Store;

/** One limiter per kind of costly request: per client address, 429 with a one-line JSON error. */
function limiter(
  limit: number,
  windowMs: number,
  what: string,
  skip?: (req: express.Request) => boolean,
  store?: Store,
): express.RequestHandler {
  return rateLimit({
    // a store that cannot be reached lets requests through rather than failing them
    ...(store ? { store, passOnStoreError: true } : {}),
    windowMs,
    limit,
    ...(skip ? { skip } : {}),
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // behind a peer engine (cluster), the original client's address
    keyGenerator: (req) => ipKeyGenerator(clientAddress(req)),
    handler: (_req, res) => {
      res
        .status(httpStatus('rate_limited'))
        .json(
          errorBody(
            'rate_limited',
            `too many ${what} from this address (at most ${limit} per ${Math.round(windowMs / 1000)} s); try again shortly`,
          ),
        );
    },
  });
}

export function apiRouter(
  manager: RoomManager,
  gallery: Gallery,
  packs: EnginePack[],
  identities: Identities,
  limits: Partial<HttpLimits> = {},
  store?: LimitStore,
): express.Router {
  const r = express.Router();
  const l = { ...HTTP_LIMITS, ...limits };
  const limit = {
    rooms: limiter(l.rooms, l.windowMs, 'new rooms', undefined, store?.('rooms')),
    people: limiter(l.rooms, l.windowMs, 'new identities', undefined, store?.('people')),
    saves: limiter(l.saves, l.windowMs, 'gallery saves', undefined, store?.('saves')),
    stars: limiter(l.stars, l.windowMs, 'stars', undefined, store?.('stars')),
    remixes: limiter(l.remixes, l.windowMs, 'remixes and mixes', undefined, store?.('remixes')),
    exports: limiter(l.exports, l.windowMs, 'GIF exports', undefined, store?.('exports')),
    uploads: limiter(l.uploads, l.windowMs, 'image uploads', undefined, store?.('uploads')),
    renders: limiter(l.renders, l.windowMs, 'rendered pictures', undefined, store?.('renders')),
    // a unit preview costs a short chain the first time only: cached ones are free
    previews: limiter(
      l.renders,
      l.windowMs,
      'rendered pictures',
      (req) =>
        previews.has(
          String(req.params.id),
          String(req.params.condition),
          String(req.params.layer),
          Number(req.params.channel),
        ),
      store?.('previews'),
    ),
  };
  const previews = new Previews(manager.sampler);
  // class thumbnails are made while the engine has no room to sample (a fresh engine's class picker showed empty
  // dots for ~30 s); made during a busy start they cost the rooms' frames (loadtest p95 153 → 502 ms)
  void previews.warm(packs, () => manager.running() === 0).catch(() => {});
  const packById = (id: string) => {
    const p = packs.find((x) => x.id === id);
    if (!p) throw new ApiError('not_found', `no pack "${id}"`);
    return p;
  };

  // every room call goes through the gateway the sockets use: one access policy
  const rooms = new LocalRooms(manager);
  /** A room whose link's token is valid (reads: the token is enough). */
  const roomWithToken = (id: string, token: unknown): Room => rooms.reader(id, typeof token === 'string' ? token : '');
  /**
   * The person behind a request's credential: null without one (with `mint`, a caller without one becomes a new
   * person, returned once); a credential this engine does not know is refused (403, with `hint`).
   */
  const personOf = async (
    req: express.Request,
    mint: boolean,
    hint = 'reload the page',
  ): Promise<{ personId: string | null; credential?: string }> => {
    const credential = bearer(req.headers.authorization);
    if (credential !== undefined) {
      const person = await identities.verify(credential);
      if (!person) throw new ApiError('forbidden', `this engine does not know your identity; ${hint}`);
      return { personId: person.id };
    }
    if (!mint) return { personId: null };
    const minted = await identities.mint();
    return { personId: minted.person.id, credential: minted.credential };
  };
  /**
   * The person behind a write: `Authorization: Bearer <credential>` (the credential a room's socket or
   * `POST /people` minted; never a display name or a client-sent id). Every write needs one (401 without).
   */
  const personFor = async (req: express.Request): Promise<string> => {
    const { personId } = await personOf(req, false, 'open the room again');
    if (personId === null)
      throw new ApiError(
        'unauthenticated',
        'this needs your identity (Authorization: Bearer <credential>): open the room or the gallery in the studio first',
      );
    return personId;
  };
  /** the name shown for a person: the one they use in the room, else the one they last gave, else "anonymous" */
  const nameFor = async (personId: string, room?: Room): Promise<string> =>
    room?.presence.nameOf(personId) ?? (await identities.nameOf(personId)) ?? 'anonymous';
  /**
   * For changes to a room: the room, the person and their role there — the link's, or the owner's grant;
   * refused when the owner removed them.
   */
  const roomAndPerson = async (
    req: express.Request,
    id: string,
    token: string,
  ): Promise<{ room: Room; role: Role; personId: string; author: string }> => {
    rooms.room(id); // a missing room is a 404 before a missing credential is a 401
    const personId = await personFor(req);
    const { room, role } = rooms.authorise(id, token, personId);
    return { room, role, personId, author: await nameFor(personId, room) };
  };
  const roomLinks = (id: string, tokens: { owner: string; editor: string; viewer: string }) => ({
    owner: `/room/${id}?t=${tokens.owner}`,
    editor: `/room/${id}?t=${tokens.editor}`,
    viewer: `/room/${id}?t=${tokens.viewer}`,
  });

  r.get('/packs', (_req, res) => {
    res.json(
      packs.map((p): PackInfo => ({
        ...p.summary,
        description: p.pack.manifest.description,
        licence: p.pack.manifest.licence,
        attribution: p.pack.manifest.attribution,
        conditionSpecs: wireConditions(p.pack),
      })),
    );
  });

  r.get(
    '/packs/:id/thumbs/:condition/:label.png',
    wrap(async (req, res) => {
      const p = packById(String(req.params.id));
      const img = await previews.classThumb(p.id, p.pack, String(req.params.condition), String(req.params.label));
      res.setHeader('Cache-Control', 'public, max-age=3600');
      png(res, img);
    }),
  );

  // a keyword condition's lexicon (words of many languages → keywords) for the web's live word chips: built once
  // per pack and condition, gzipped when the client accepts it (≈ 650 KB → 170 KB)
  const lexiconBodies = new Map<string, { json: Buffer; gzip: Buffer }>();
  r.get(
    '/packs/:id/lexicon/:condition.json',
    wrap(async (req, res) => {
      const p = packById(String(req.params.id));
      const condition = String(req.params.condition);
      const lex = p.pack.lexicons[condition];
      if (!lex) throw new ApiError('not_found', `pack "${p.id}" has no lexicon for condition "${condition}"`);
      const key = `${p.id}\u0000${condition}`;
      let body = lexiconBodies.get(key);
      if (!body) {
        const json = Buffer.from(
          JSON.stringify({ format: 'ppgn-lexicon/1', languages: lex.languages, words: Object.fromEntries(lex.words) }),
        );
        body = { json, gzip: gzipSync(json) };
        lexiconBodies.set(key, body);
      }
      res.setHeader('Cache-Control', 'public, max-age=3600');
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Vary', 'Accept-Encoding');
      if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
        res.setHeader('Content-Encoding', 'gzip');
        res.end(body.gzip);
      } else res.end(body.json);
    }),
  );

  r.get(
    '/packs/:id/units/:condition/:layer/:channel.png',
    limit.previews,
    wrap(async (req, res) => {
      const p = packById(String(req.params.id));
      const channel = parse(z.coerce.number().int().min(0), req.params.channel);
      const img = await previews.unitPreview(
        p.id,
        p.pack,
        String(req.params.condition),
        String(req.params.layer),
        channel,
      );
      res.setHeader('Cache-Control', 'public, max-age=3600');
      png(res, img);
    }),
  );

  r.post(
    '/rooms',
    limit.rooms,
    wrap(async (req, res) => {
      const { imagePng, ...body } = parse(CreateRoom, req.body ?? {});
      const room = await manager.create({ ...body, imagePng: imagePng ? Buffer.from(imagePng, 'base64') : undefined });
      res
        .status(201)
        .json({ id: room.id, tokens: room.tokens, links: roomLinks(room.id, room.tokens), state: room.state });
    }),
  );

  r.get(
    '/rooms/:id',
    wrap(async (req, res) => {
      const room = roomWithToken(String(req.params.id), req.query.token);
      res.json({ state: wireState(room.model.snapshot()), step: room.chain.step, members: room.presence.list() });
    }),
  );

  /** a picture the room's state holds (an image condition), by the reference its snapshots and patches carry */
  r.get(
    '/rooms/:id/pictures/:ref.png',
    wrap(async (req, res) => {
      const room = roomWithToken(String(req.params.id), req.query.token);
      const ref = String(req.params.ref);
      if (!isPictureRef(ref)) throw new ApiError('invalid', 'a picture reference is "sha256:" and 64 hex digits');
      const bytes = pictureOf(room.model.state, ref);
      if (!bytes) throw new ApiError('not_found', 'this room holds no such picture now');
      res.setHeader('Cache-Control', 'private, max-age=86400, immutable');
      png(res, bytes);
    }),
  );

  r.get(
    '/rooms/:id/frame.png',
    wrap(async (req, res) => {
      const room = roomWithToken(String(req.params.id), req.query.token);
      png(res, room.lastFrame?.image ?? (await room.render(room.chain.h)));
    }),
  );

  r.get(
    '/rooms/:id/history',
    wrap(async (req, res) => {
      const room = roomWithToken(String(req.params.id), req.query.token);
      res.json({ steps: room.chain.historySteps(), current: room.chain.step });
    }),
  );

  r.get(
    '/rooms/:id/history/:step.png',
    limit.renders,
    wrap(async (req, res) => {
      const room = roomWithToken(String(req.params.id), req.query.token);
      const step = parse(z.coerce.number().int().min(0), req.params.step);
      png(res, await room.render(room.chain.codeAt(step).h));
    }),
  );

  r.get(
    '/rooms/:id/export.gif',
    limit.exports,
    wrap(async (req, res) => {
      const room = roomWithToken(String(req.params.id), req.query.token);
      const gif = await room.exportGif();
      res.setHeader('Content-Type', 'image/gif');
      res.setHeader(
        'Content-Disposition',
        `attachment; filename="${room.model.state.name.replace(/[^\w.-]+/g, '_')}.gif"`,
      );
      res.end(Buffer.from(gif));
    }),
  );

  r.post(
    '/rooms/:id/image',
    limit.uploads,
    wrap(async (req, res) => {
      const body = parse(StartImage, req.body ?? {});
      const { room, personId, author } = await roomAndPerson(req, String(req.params.id), body.token);
      const caller = { userId: personId, name: author, token: body.token };
      const version = await rooms.startFromImage(room.id, caller, Buffer.from(body.imagePng, 'base64'));
      res.json({ ok: true, version });
    }),
  );

  r.post(
    '/rooms/:id/fork',
    limit.rooms,
    wrap(async (req, res) => {
      const body = parse(Fork, req.body ?? {});
      const { room, author } = await roomAndPerson(req, String(req.params.id), body.token);
      const { h, step } = room.chain.codeAt(body.step);
      const s = room.model.state;
      const forked = await manager.create({
        name: body.name ?? `${s.name} (fork @${step})`,
        packId: s.packId,
        author,
        conditions: s.conditions.map((c) => ({ target: c.target, weight: c.weight })),
        params: s.params,
        overrides: s.overrides,
        h0: h,
      });
      res.status(201).json({ id: forked.id, tokens: forked.tokens, links: roomLinks(forked.id, forked.tokens) });
    }),
  );

  /** A new person for this browser (the gallery, before any room): their credential, shown once. */
  r.post(
    '/people',
    limit.people,
    wrap(async (req, res) => {
      const { name } = parse(NewPerson, req.body ?? {});
      const { person, credential } = await identities.mint(name);
      res.status(201).json({ personId: person.id, credential });
    }),
  );

  /** Replace this person's credential (a leaked one stops working): the new one is shown once. */
  r.post(
    '/people/me/credential',
    limit.people,
    wrap(async (req, res) => {
      const personId = await personFor(req);
      res.json({ personId, credential: await identities.rotate(personId, bearer(req.headers.authorization)!) });
    }),
  );

  /** The owner replaces the editor and viewer links: the old ones admit no one new (people in the room stay). */
  r.post(
    '/rooms/:id/links',
    limit.rooms,
    wrap(async (req, res) => {
      const body = parse(WithToken, req.body ?? {});
      const { room, personId, author } = await roomAndPerson(req, String(req.params.id), body.token);
      const tokens = await rooms.replaceLinks(room.id, { userId: personId, name: author, token: body.token });
      res.json({ tokens, links: roomLinks(room.model.state.id, tokens) });
    }),
  );

  r.post(
    '/gallery',
    limit.saves,
    wrap(async (req, res) => {
      const body = parse(SaveItem, req.body ?? {});
      const { room, role, personId, author } = await roomAndPerson(req, body.roomId, body.token);
      assertMay(role, 'save');
      // a key counts per person (their credential), so someone else replaying it gets no one else's item
      const key = body.idempotencyKey ? `${personId}.${body.idempotencyKey}` : null;
      const earlier = key ? await gallery.findSaved(room.model.state.id, author, key) : null;
      if (earlier) return void res.status(200).json(earlier);
      const { h, step } = room.chain.codeAt(body.step);
      const image = body.step === undefined && room.lastFrame ? room.lastFrame.image : await room.render(h);
      const s = room.model.state;
      const { item, created } = await gallery.saveOnce({
        // what was drawn, not the room's name: items of one room stay tellable apart
        title: body.title || `${describeRecipe(s.conditions)} · step ${step}`,
        packId: s.packId,
        author,
        authorId: personId,
        image,
        h,
        recipe: {
          conditions: s.conditions,
          params: s.params,
          strokes: s.strokes,
          context: s.context,
          roomId: s.id,
          packVersion: room.pack.manifest.version,
          settings: savedSettings(s.effective),
        },
        contextPng: s.context ? room.contextPng() : null,
        seed: s.params.seed,
        step,
        // a remixed room knows its parent item (kept on the room, not in a browser)
        parentId: body.parentId ?? room.parentItemId ?? null,
        idempotencyKey: key,
        seen: await manager.pictures.seenAs(s.packId, h),
      });
      res.status(created ? 201 : 200).json(item);
    }),
  );

  r.get(
    '/gallery',
    wrap(async (req, res) => {
      res.json(await gallery.list(parse(ListQuery, req.query)));
    }),
  );

  r.get(
    '/gallery/:id',
    wrap(async (req, res) => {
      const { personId } = await personOf(req, false).catch(() => ({ personId: null }));
      res.json(await gallery.get(String(req.params.id), personId));
    }),
  );

  /** The person who published an item gives it another title. */
  r.patch(
    '/gallery/:id',
    limit.saves,
    wrap(async (req, res) => {
      const { title } = parse(Rename, req.body ?? {});
      res.json(await gallery.rename(String(req.params.id), await personFor(req), title));
    }),
  );

  r.get(
    '/gallery/:id/image.png',
    wrap(async (req, res) => {
      png(res, await gallery.image(String(req.params.id)), `${req.params.id}.png`);
    }),
  );

  r.get(
    '/gallery/:id/context.png',
    wrap(async (req, res) => {
      const bytes = await gallery.contextImage(String(req.params.id));
      if (!bytes) throw new ApiError('not_found', 'this item was saved without an inpainting context');
      png(res, bytes, `${req.params.id}-context.png`);
    }),
  );

  r.get(
    '/gallery/:id/lineage',
    wrap(async (req, res) => {
      res.json(await gallery.lineage(String(req.params.id)));
    }),
  );

  r.get(
    '/gallery/:id/star',
    wrap(async (req, res) => {
      const { personId } = await personOf(req, false);
      res.json(await gallery.starState(String(req.params.id), personId));
    }),
  );

  r.post(
    '/gallery/:id/star',
    limit.stars,
    wrap(async (req, res) => {
      const { starred } = parse(Star, req.body ?? {});
      const { personId, credential } = await personOf(req, true);
      const state = await gallery.star(String(req.params.id), personId!, starred);
      res.json({ ...state, ...(credential ? { credential } : {}) });
    }),
  );

  r.post(
    '/gallery/:id/remix',
    limit.remixes,
    wrap(async (req, res) => {
      const body = parse(Remix, req.body ?? {});
      const { h, item, contextPng, image } = await gallery.code(String(req.params.id));
      const room = await manager.create({
        name: body.name ?? `Remix of ${item.title}`.slice(0, LIMITS.roomNameLength),
        packId: item.packId,
        author: body.author,
        conditions: item.recipe.conditions.map((c) => ({ target: c.target, weight: c.weight })),
        params: item.recipe.params,
        strokes: item.recipe.strokes,
        context: item.recipe.context,
        contextPng,
        h0: h,
        // the remix opens paused on the saved frame (the same code h, at the item's step), so people see what they
        // remixed; Play steps on from the full recipe
        firstFrame: image,
        step: item.step,
        running: false,
        parentItemId: item.id,
      });
      res
        .status(201)
        .json({ id: room.id, tokens: room.tokens, links: roomLinks(room.id, room.tokens), parentId: item.id });
    }),
  );

  r.post(
    '/gallery/mix',
    limit.remixes,
    wrap(async (req, res) => {
      const body = parse(Mix, req.body ?? {});
      const personId = await personFor(req);
      const [a, b] = await Promise.all([gallery.code(body.a), gallery.code(body.b)]);
      if (a.item.packId !== b.item.packId)
        throw new ApiError('invalid', `cannot mix items of different packs (${a.item.packId} and ${b.item.packId})`);
      const pack = packs.find((p) => p.id === a.item.packId);
      if (!pack) throw new ApiError('unavailable', `pack "${a.item.packId}" is not loaded`);
      const h = a.h.map((v, i) => (1 - body.t) * v + body.t * b.h[i]!);
      // render through a room-free path: a temporary chain is not needed, G(h) is enough
      const image = await manager.pictures.render(pack.id, h);
      const item = await gallery.save({
        title: body.title || `${shorten(a.item.title, 39)} × ${shorten(b.item.title, 39)}`,
        packId: a.item.packId,
        author: await nameFor(personId),
        authorId: personId,
        image,
        h,
        // what the mix was drawn from: both parents' conditions, weighed as their codes were (1 − t and t)
        recipe: {
          ...a.item.recipe,
          conditions: mixConditions(a.item.recipe.conditions, b.item.recipe.conditions, body.t),
          roomId: null,
        },
        contextPng: a.contextPng,
        seed: a.item.seed,
        step: 0,
        parentId: a.item.id,
        mixParentId: b.item.id,
        seen: await manager.pictures.seenAs(pack.id, h),
      });
      res.status(201).json(item);
    }),
  );

  return r;
}
