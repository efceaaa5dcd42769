// The room client: one Socket.IO connection, the room state rebuilt from server patches, the
// latest frame, score history, members and activity. Framework-free (a tiny external store)
// so it can be tested without React; `useRoom` in use-room.ts binds it to components.
//
// Identity: the engine mints a credential at this browser's first join; the client keeps it (see
// `RoomIdentity`) and sends it in every Socket.IO handshake. A dropped transport comes back with
// connection state recovery (same membership, no new join); if that fails, the client joins again
// with its credential and the last version it saw.
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import {
  PROTOCOL_VERSION,
  applyPatch,
  type Ack,
  type ActivityItem,
  type AdminAction,
  type ClientToServerEvents,
  type ConditionSpec,
  type ErrorCode,
  type Frame,
  type ErrorReason,
  type IntentInput,
  type JoinResult,
  type Member,
  type PresenceUpdate,
  type Role,
  type RoomPatch,
  type RoomState,
  type ServerToClientEvents,
  type SocketAuth,
} from '@ppgn/shared';

export type RoomSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** failed: the link is not valid, the room is gone or you were removed (no retry); reconnecting: the engine is unreachable (retrying) */
export type ConnStatus = 'connecting' | 'joined' | 'reconnecting' | 'failed' | 'kicked';

/** A frame as the page keeps it: the engine's Frame with its PNG as a Blob. */
export type FrameView = Omit<Frame, 'roomId' | 'image' | 'step'> & {
  /** null when the frame came from the HTTP snapshot rather than the live chain */
  step: number | null;
  blob: Blob;
};

export interface ScorePoint {
  step: number;
  scores: Record<string, number>;
}

export interface RoomView {
  status: ConnStatus;
  /** why joining failed or why we were removed */
  error: string | null;
  /** the engine's code for a failed join (not_found, forbidden, invalid…) */
  errorCode: ErrorCode | null;
  /** its cause where one code has several (removed, link_invalid, protocol) */
  errorReason: ErrorReason | null;
  role: Role | null;
  userId: string | null;
  state: RoomState | null;
  members: Member[];
  activity: ActivityItem[];
  /** the pack's conditions, typed by the engine */
  conditions: ConditionSpec[];
  packId: string | null;
  frame: FrameView | null;
  scores: ScorePoint[];
  /** times this client (re)joined; > 1 means a reconnect happened */
  joins: number;
}

export interface Notice {
  kind: 'error' | 'info';
  message: string;
}

export interface SendOptions {
  /** the caller shows a failure itself (e.g. inline next to the field): no toast */
  quiet?: boolean;
}

/** Where the credential the engine minted for this browser is kept. */
export interface RoomIdentity {
  get(): string | null;
  set(credential: string): void;
}

export interface RoomClientOptions {
  base: string;
  roomId: string;
  token: string;
  name: string;
  identity: RoomIdentity;
  socketFactory?: (base: string, opts: Partial<ManagerOptions & SocketOptions>) => RoomSocket;
  fetchImpl?: typeof fetch;
  onNotice?: (n: Notice) => void;
}

const SCORE_POINTS = 240;
const ACTIVITY_ITEMS = 200;
const ACK_TIMEOUT_MS = 10_000;
const PRESENCE_MS = 66;
/** a join refused for a passing reason (engine busy, database down): asked again after this long */
const JOIN_RETRY_MS = 2000;
/** codes that mean the link itself is no good: shown as such, never retried */
const FINAL_CODES: ReadonlySet<ErrorCode> = new Set(['not_found', 'forbidden', 'invalid', 'too_large']);

/** The view before anything is known (also what React renders before a client exists). */
export const initialView: RoomView = {
  status: 'connecting',
  error: null,
  errorCode: null,
  errorReason: null,
  role: null,
  userId: null,
  state: null,
  members: [],
  activity: [],
  conditions: [],
  packId: null,
  frame: null,
  scores: [],
  joins: 0,
};

function toBlob(image: unknown): Blob {
  if (image instanceof Blob) return image;
  if (image instanceof ArrayBuffer) return new Blob([image], { type: 'image/png' });
  if (ArrayBuffer.isView(image)) {
    const v = image as ArrayBufferView;
    const copy = new Uint8Array(v.byteLength);
    copy.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    return new Blob([copy], { type: 'image/png' });
  }
  return new Blob([], { type: 'image/png' });
}

export class RoomClient {
  private view: RoomView = initialView;
  private listeners = new Set<() => void>();
  private socket: RoomSocket | null = null;
  private stopped = false;
  private resyncing = false;
  private pending: RoomPatch[] = [];
  private presenceQueue: PresenceUpdate = {};
  private presenceTimer: ReturnType<typeof setTimeout> | null = null;
  private lastPresence = 0;
  /** intents awaiting their ack, by type: their failure is reported once, from the ack, not from room:error */
  private inFlight = new Map<string, number>();
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly opts: RoomClientOptions) {}

  // ------------------------------------------------------------------ store

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): RoomView => this.view;

  private set(changes: Partial<RoomView>) {
    this.view = { ...this.view, ...changes };
    for (const l of this.listeners) l();
  }

  private notice(kind: Notice['kind'], message: string) {
    this.opts.onNotice?.({ kind, message });
  }

  // ------------------------------------------------------------------ lifecycle

  start(): void {
    this.connectSocket();
    if (typeof window !== 'undefined') window.addEventListener('pagehide', this.onPageHide);
  }

  /** Closing the tab leaves the room at once (a dropped connection would keep the place for a while). */
  private onPageHide = (e: PageTransitionEvent) => {
    if (!e.persisted) this.socket?.disconnect();
  };

  /** A new Socket.IO connection (no session to recover): the first one, or after the engine closed ours. */
  private connectSocket(): void {
    const auth = (cb: (data: object) => void) => {
      const credential = this.opts.identity.get();
      cb(credential ? ({ credential } satisfies SocketAuth) : {});
    };
    const make =
      this.opts.socketFactory ??
      ((base: string, o: Partial<ManagerOptions & SocketOptions>) =>
        io(base, { transports: ['websocket', 'polling'], reconnectionDelayMax: 3000, ...o }));
    const s = make(this.opts.base, { auth, forceNew: true });
    this.socket = s;
    s.on('connect', () => {
      // the transport came back and the engine restored our session: same membership, missed events replayed
      if (s.recovered && this.view.status !== 'connecting' && this.view.state) this.set({ status: 'joined' });
      else void this.join();
    });
    s.on('disconnect', (reason) => {
      if (this.stopped || this.view.status === 'kicked' || this.view.status === 'failed') return;
      this.set({ status: 'reconnecting' });
      // the engine closed us without a kick notice: start over on a fresh connection (and join again)
      if (reason === 'io server disconnect') this.reconnectFresh(1000);
    });
    s.on('connect_error', (err) => {
      if (this.stopped) return;
      if (this.view.status === 'connecting' || this.view.status === 'joined') this.set({ status: 'reconnecting' });
      // the engine refused to restore our session (it answers with a code): join again on a fresh connection
      const code = (err as { data?: { code?: unknown } }).data?.code;
      if (typeof code === 'string') this.reconnectFresh(JOIN_RETRY_MS);
    });
    s.on('room:patch', (p) => this.onPatch(p));
    s.on('room:frame', (f) => {
      const scores = f.scores ?? {};
      let history = this.view.scores;
      const last = history[history.length - 1];
      if (last && f.step <= last.step) history = []; // the chain was reset or jumped back
      history = [...history, { step: f.step, scores }];
      if (history.length > SCORE_POINTS) history = history.slice(history.length - SCORE_POINTS);
      this.set({
        frame: {
          step: f.step,
          version: f.version,
          blob: toBlob(f.image),
          scores,
          conditionScores: f.conditionScores ?? {},
          hNorm: f.hNorm,
          ...(f.acceptRate !== undefined ? { acceptRate: f.acceptRate } : {}),
          at: f.at,
        },
        scores: history,
      });
    });
    s.on('room:members', (members) => this.set({ members }));
    s.on('room:activity', (item) => {
      const activity = [...this.view.activity, item];
      this.set({ activity: activity.length > ACTIVITY_ITEMS ? activity.slice(-ACTIVITY_ITEMS) : activity });
    });
    s.on('room:error', (e) => {
      // the ack of our own pending intent carries the same error; send() reports it (or its caller does)
      if (e.intent && this.inFlight.get(e.intent)) return;
      this.notice('error', e.error);
    });
    s.on('room:kicked', (e) => {
      this.set({
        status: 'kicked',
        error: `You were removed from the room (${e.reason}).`,
        errorCode: 'forbidden',
        errorReason: 'removed',
      });
      s.disconnect();
    });
    // another engine runs the room now: join again (same connection), resync from our version
    s.on('room:moved', () => {
      if (this.stopped || this.view.status === 'kicked' || this.view.status === 'failed') return;
      void this.join();
    });
    s.on('room:role', (e) => {
      this.set({ role: e.role });
      this.notice('info', `Your role is now ${e.role}.`);
    });
    if (!s.connected) s.connect();
  }

  private reconnectFresh(delayMs: number) {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.stopped || this.view.status === 'kicked' || this.view.status === 'failed') return;
      const old = this.socket;
      old?.removeAllListeners();
      old?.disconnect();
      this.connectSocket();
    }, delayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.presenceTimer) clearTimeout(this.presenceTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (typeof window !== 'undefined') window.removeEventListener('pagehide', this.onPageHide);
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
  }

  private async join() {
    const s = this.socket;
    if (!s) return;
    const { roomId, token, name } = this.opts;
    const since = this.view.state && !this.resyncing ? this.view.state.version : undefined;
    let res: JoinResult;
    try {
      res = await s.timeout(ACK_TIMEOUT_MS).emitWithAck('room:join', {
        protocol: PROTOCOL_VERSION,
        roomId,
        token,
        name,
        ...(since !== undefined ? { sinceVersion: since } : {}),
      });
    } catch {
      if (!this.stopped) this.set({ status: 'reconnecting' });
      return;
    }
    if (this.stopped || s !== this.socket) return;
    if (!res.ok) {
      // an engine that sends no code is an older one: its refusals were about the link
      if (res.code === undefined || FINAL_CODES.has(res.code)) {
        this.set({
          status: 'failed',
          error: res.error,
          errorCode: res.code ?? 'forbidden',
          errorReason: res.reason ?? null,
        });
        s.disconnect();
        return;
      }
      // the engine is there but cannot take us right now: keep the banner and ask again
      this.set({ status: 'reconnecting', error: res.error });
      setTimeout(() => !this.stopped && s === this.socket && s.connected && void this.join(), JOIN_RETRY_MS);
      return;
    }
    if (res.credential) this.opts.identity.set(res.credential);
    let state = res.state ?? this.view.state;
    if (!res.state && state) {
      try {
        for (const p of res.patches) state = applyPatch(state, p);
      } catch {
        state = null;
      }
    }
    this.set({
      status: 'joined',
      error: null,
      errorCode: null,
      errorReason: null,
      role: res.role,
      userId: res.userId,
      members: res.members,
      activity: res.activity.slice(-ACTIVITY_ITEMS),
      conditions: res.pack.conditions,
      packId: res.pack.id,
      joins: this.view.joins + 1,
      state,
    });
    if (!state) await this.resync();
    else this.drainPending();
    if (!this.view.frame) void this.loadStillFrame();
  }

  // ------------------------------------------------------------------ state from patches

  private onPatch(p: RoomPatch) {
    const st = this.view.state;
    if (!st || this.resyncing) {
      this.pending.push(p);
      return;
    }
    if (p.version <= st.version) return; // already have it (e.g. from the join result)
    if (p.version !== st.version + 1) {
      this.pending.push(p);
      void this.resync();
      return;
    }
    this.set({ state: applyPatch(st, p) });
  }

  private drainPending() {
    let st = this.view.state;
    if (!st) return;
    const queue = this.pending.sort((a, b) => a.version - b.version);
    this.pending = [];
    for (const p of queue) {
      if (p.version <= st.version) continue;
      if (p.version !== st.version + 1) {
        this.pending.push(p);
        void this.resync();
        break;
      }
      st = applyPatch(st, p);
    }
    this.set({ state: st });
  }

  /** Missed a version: take a fresh snapshot over HTTP, then apply what arrived meanwhile. */
  private async resync() {
    if (this.resyncing) return;
    this.resyncing = true;
    try {
      const f = this.opts.fetchImpl ?? fetch;
      const res = await f(
        `${this.opts.base}/rooms/${encodeURIComponent(this.opts.roomId)}?token=${encodeURIComponent(this.opts.token)}`,
        { cache: 'no-store' },
      );
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as { state: RoomState };
      this.pending = this.pending.filter((p) => p.version > body.state.version);
      this.view = { ...this.view, state: body.state };
    } catch (err) {
      this.notice('error', `could not resynchronise the room: ${(err as Error).message}`);
    } finally {
      this.resyncing = false;
    }
    this.drainPending();
  }

  /** A paused room sends no frames: show its current image from the HTTP endpoint. */
  private async loadStillFrame() {
    try {
      const f = this.opts.fetchImpl ?? fetch;
      const res = await f(
        `${this.opts.base}/rooms/${encodeURIComponent(this.opts.roomId)}/frame.png?token=${encodeURIComponent(this.opts.token)}`,
        { cache: 'no-store' },
      );
      if (!res.ok || this.view.frame) return;
      const blob = await res.blob();
      if (this.view.frame) return;
      this.set({
        frame: {
          step: null,
          version: this.view.state?.version ?? 0,
          blob,
          scores: {},
          conditionScores: {},
          hNorm: 0,
          at: Date.now(),
        },
      });
    } catch {
      /* a live frame will come */
    }
  }

  // ------------------------------------------------------------------ outgoing

  /** Send an intent; resolves with the ack (never rejects). A failure is shown once: as a notice, or by the caller when `quiet`. */
  async send(intent: IntentInput, opts: SendOptions = {}): Promise<Ack> {
    const res = await this.sendOnce(intent);
    if (!res.ok && !opts.quiet) this.notice('error', res.error);
    return res;
  }

  private async sendOnce(intent: IntentInput): Promise<Ack> {
    const s = this.socket;
    if (!s || !s.connected || this.view.status !== 'joined')
      return { ok: false, error: 'not connected to the room; try again in a moment' };
    this.inFlight.set(intent.type, (this.inFlight.get(intent.type) ?? 0) + 1);
    try {
      return await s.timeout(ACK_TIMEOUT_MS).emitWithAck('room:intent', intent);
    } catch {
      return { ok: false, error: 'the engine did not answer in time' };
    } finally {
      const n = (this.inFlight.get(intent.type) ?? 1) - 1;
      if (n > 0) this.inFlight.set(intent.type, n);
      else this.inFlight.delete(intent.type);
    }
  }

  async admin(action: AdminAction): Promise<Ack> {
    const s = this.socket;
    if (!s || !s.connected) return { ok: false, error: 'not connected' };
    try {
      const res = await s.timeout(ACK_TIMEOUT_MS).emitWithAck('room:admin', action);
      if (!res.ok) this.notice('error', res.error);
      return res;
    } catch {
      this.notice('error', 'the engine did not answer in time');
      return { ok: false, error: 'timeout' };
    }
  }

  /** Presence is merged and throttled to ~15 Hz. */
  presence(p: PresenceUpdate): void {
    this.presenceQueue = { ...this.presenceQueue, ...p };
    if (this.presenceTimer) return;
    const wait = Math.max(0, PRESENCE_MS - (Date.now() - this.lastPresence));
    this.presenceTimer = setTimeout(() => {
      this.presenceTimer = null;
      this.lastPresence = Date.now();
      const q = this.presenceQueue;
      this.presenceQueue = {};
      if (this.socket?.connected && this.view.status === 'joined') this.socket.emit('room:presence', q);
    }, wait);
  }
}
