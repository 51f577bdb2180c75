// Type declarations of the Runlane JavaScript client (hand-written; the module is plain ES2020).
// The wire protocol is docs/reference/protocol.md; the client's guide docs/guides/javascript-client.md.

/** Web Storage compatible key-value store (sessionStorage, localStorage, or your own). */
export interface RunlaneStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** What a ticket provider may return: the ticket itself, or the host's JSON answer holding it. */
export type TicketAnswer = string | { ticket: string; [k: string]: unknown };

/** The minimal WebSocket the client needs (the browser's, Node's global, or `ws`). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** The minimal EventSource the SSE flavour needs (the browser's, or a polyfill). */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (ev: { data: string }) => void): void;
  close(): void;
  onmessage: ((ev: { data: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type EventSourceConstructor = new (url: string, init?: { withCredentials?: boolean }) => EventSourceLike;

/** The newest wire protocol this client speaks (3: compact run events and joined messages). */
export declare const MAX_PROTOCOL: 3;
/** The protocol asked for by default (2: compact run events, no joining). */
export declare const DEFAULT_PROTOCOL: 2;

export interface RunlaneClientOptions {
  /**
   * How frames travel; default `'websocket'`. `'sse'` (runlane-transport-sse): an `EventSource`
   * receives every frame, commands go up as `POST url?stream=<token>`, and a dropped stream is
   * re-opened by the browser itself with `Last-Event-ID`. Same API, events and resume guarantees.
   * The stream is authenticated by cookies or the URL (tickets are optional: a one-time ticket
   * cannot survive the browser's own reconnect).
   */
  transport?: 'websocket' | 'sse';
  /**
   * The endpoint. WebSocket: e.g. `wss://example.com/ws`, the ticket goes in `?ticket=`; default in
   * a page `/ws` on the page's host. SSE: e.g. `https://example.com/runlane/sse`; default in a page
   * `/runlane/sse` on the page's origin. A function builds the whole URL (SSE: from `null` unless
   * `getTicket` is given).
   */
  url?: string | ((ticket: string) => string);
  /** The EventSource constructor for `transport: 'sse'`; default `globalThis.EventSource`. */
  EventSource?: EventSourceConstructor;
  /** The fetch used for the SSE flavour's command POSTs; default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** SSE across origins: open the EventSource `withCredentials` and POST with `credentials: 'include'`; default false. */
  withCredentials?: boolean;
  /** A one-time ticket for the first connection. Reconnecting needs `getTicket`. */
  ticket?: string;
  /** Called for every connection (and paired stream socket): returns a fresh one-time ticket. */
  getTicket?: () => TicketAnswer | Promise<TicketAnswer>;
  /** The WebSocket constructor; default `globalThis.WebSocket` (Node 20: `--experimental-websocket`). */
  WebSocket?: WebSocketConstructor;
  /** Where resume positions are kept; default `sessionStorage` when present, else memory. */
  storage?: RunlaneStorage;
  /** Prefix of the storage keys; default `"runlane"`. Give two clients in one page different prefixes. */
  storageKey?: string;
  /** Reconnect delay: `min(maxMs, initialMs * factor^attempt)`, minus up to `jitter` of it at random. Defaults 250 ms, 10 s, 2, 0.5. */
  backoff?: { initialMs?: number; maxMs?: number; factor?: number; jitter?: number };
  /** How often to send `ping`; default 20 000 ms (the server closes after 90 s without inbound traffic). 0 turns it off. */
  pingIntervalMs?: number;
  /** Reconnect when nothing at all arrived for this long (a half-open socket); default 70 000 ms. 0 turns it off. */
  serverTimeoutMs?: number;
  /** Give up a connection attempt whose welcome has not arrived within this long; default 15 000 ms. 0 turns it off. */
  connectTimeoutMs?: number;
  /** Use the paired stream socket when the welcome offers it; default true (needs `getTicket` or `streamUrl`). */
  streamTransport?: boolean;
  /** The stream socket's URL; default the endpoint with `?ticket=…&primary=<connectionId>&generation=<n>`. */
  streamUrl?: (info: { url: string; ticket: string | null; connectionId: string; generation: number }) => string;
  /** How long to wait for `stream_paired` before going on with the primary alone; default 5000 ms. */
  pairTimeoutMs?: number;
  /** Subscribe with `takeover: true` (retire this user's stale sockets as recipients); default false. */
  takeover?: boolean;
  /**
   * The newest wire protocol to ask for with a `hello` after each welcome; default 2: compact run
   * events, decoded into the same event objects. 3: that, and a WebSocket message may carry several
   * messages joined by line feeds, each handled as if it had arrived alone (never over SSE); opt-in,
   * see docs/benchmarks.md, "Joined messages (protocol 3)". 1 sends no hello. The server grants the lower of this and its own newest; a server that does not know
   * hello refuses it and the connection stays on 1.
   */
  protocol?: 1 | 2 | 3;
  /** Connect in the constructor; default true. */
  autoConnect?: boolean;
  /** Timers to use (tests inject fake ones); default the global ones. */
  timers?: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
  /** Random source for jitter, in [0, 1); default `Math.random`. */
  random?: () => number;
  /** Called when an event handler throws; default `console.error`. The client carries on either way. */
  onHandlerError?: (error: unknown, event: string) => void;
}

/** The resume position of one run, as stored. */
export interface RunPosition {
  runId: string;
  epoch: string | null;
  lastSeq: number;
  ended: boolean;
  /** The server no longer knew the run when the client resumed: its end is unknown. */
  lost: boolean;
}

export interface RunEvent<D = unknown> {
  runId: string;
  sessionId: string;
  seq: number;
  epoch: string;
  /** `run.started`, `run.completed`, `run.aborted`, `run.failed`, or the host runtime's own kind (e.g. `delta`). */
  type: string;
  data: D;
}

export interface RunOutcome {
  runId: string;
  sessionId: string;
  epoch: string;
  owner: string;
  state: 'COMPLETED' | 'ABORTED' | 'FAILED';
  failureReason: string | null;
  exitCode: number;
  message: string | null;
  result: unknown;
  terminalSeq: number;
  abortedBy: string | null;
}

export interface RunEnd extends RunEvent<RunOutcome> {
  state: 'completed' | 'aborted' | 'failed';
  outcome: RunOutcome;
  /** true when the server did not replay the ended run and the end was taken from the subscribe ack. */
  fromAck?: boolean;
}

export interface Truncated {
  sessionId: string;
  runId: string;
  epoch: string | null;
  /** The ack's status, or `"GAP"` for a gap seen in the live stream (never expected from a correct server). */
  status: string;
  /** The first and last seq that are gone from the server: refetch them from the host's own history. */
  fromSeq: number;
  toSeq: number;
}

export interface EpochChanged {
  sessionId: string;
  runId: string;
  epoch: string;
  status: string;
  /** The stored position the client resumed from. */
  previous: RunPosition;
  /** true when the stored run itself was reset: drop what was rendered for it. */
  reset: boolean;
}

export interface Approval {
  approvalId: string;
  runId: string;
  sessionId: string;
  payload: unknown;
  expiresAt: number | null;
}

export interface ApprovalRequested extends Approval {
  /** true when it came in a subscribe acknowledgement (e.g. after a reload), not live. */
  fromAck: boolean;
}

export interface ApprovalResolved {
  approvalId: string;
  runId: string;
  sessionId: string;
  /** From the server: ANSWERED, EXPIRED, RUN_ENDED. `UNKNOWN` when it was resolved while this client was away. */
  resolution: 'ANSWERED' | 'EXPIRED' | 'RUN_ENDED' | 'UNKNOWN';
  decision: { allow: boolean; message?: string | null } | null;
  by: string | null;
}

export interface SubscribeAck {
  ref: string | null;
  sessionId: string;
  runId: string | null;
  epoch: string | null;
  status: 'EXACT' | 'TRUNCATED' | 'EPOCH_CHANGED' | 'AHEAD_OF_HEAD' | 'FINISHED' | 'UNKNOWN_RUN';
  processing: boolean;
  headSeq: number;
  oldestSeq: number;
  replayFrom: number;
  replayTo: number;
  truncated: boolean;
  following: boolean;
  requestedLastSeq: number;
  pendingApprovals: Approval[];
  outcome: RunOutcome | null;
}

export interface SubscriptionEvents {
  /** Each `chat.subscribe` acknowledgement, before its replay. */
  subscribed: SubscribeAck;
  /** `run.started` (seq 1); `data` is the prompt. */
  started: RunEvent;
  /** Every applied run event, once, in seq order per run (including run.* kinds). */
  event: RunEvent;
  /** Unsequenced run status (e.g. `phase`); show while fresh, never stored. */
  status: { runId: string; sessionId: string; key: string; data: unknown };
  /** Exactly once per run: completed, aborted or failed. */
  end: RunEnd;
  completed: RunEnd;
  aborted: RunEnd;
  failed: RunEnd;
  /** Events the client asked for were evicted: refetch `fromSeq..toSeq` from the host. */
  truncated: Truncated;
  /** The stored position does not belong to the run the server answers with. */
  epochChanged: EpochChanged;
  /** The run had already ended when the client (re)subscribed. */
  finished: { sessionId: string; runId: string; epoch: string | null; outcome: RunOutcome | null; replayed: boolean };
  /** The server no longer holds a run this client was showing (evicted, or the server restarted): its end is unknown. */
  unknownRun: { sessionId: string; runId: string; epoch: string | null; lastSeq: number };
  approvalRequested: ApprovalRequested;
  approvalResolved: ApprovalResolved;
  notice: { sessionId: string | null; type: string; data: unknown };
  /** A refusal concerning this session (e.g. SESSION_NOT_FOUND on subscribe). */
  error: RunlaneError;
}

export type SubscriptionHandlers = { [K in keyof SubscriptionEvents]?: (e: SubscriptionEvents[K]) => void };

export interface ClientEvents {
  state: 'idle' | 'connecting' | 'open' | 'closed';
  welcome: { connectionId: string; generation: number; serverEpoch: string; streamTransport: boolean };
  connected: { connectionId: string; serverEpoch: string; paired: boolean };
  disconnected: { code: number; reason: string; willReconnect: boolean; delayMs: number | null };
  serverRestarted: { previous: string; current: string };
  streamPaired: { connectionId: string; generation: number };
  streamRefused: { reason: string };
  /** The server answered the hello: the protocol this connection speaks; `refused` is the error code of a server that does not know hello. */
  protocol: { protocol: number; refused: string | null };
  notice: { sessionId: null; type: string; data: unknown };
  error: RunlaneError;
}

export declare class RunlaneError extends Error {
  readonly code: string;
  readonly sessionId: string | null;
  readonly ref: string | null;
  constructor(code: string, message: string, extra?: { sessionId?: string | null; ref?: string | null });
}

export declare class Subscription {
  readonly client: RunlaneClient;
  readonly sessionId: string;
  readonly state: 'pending' | 'subscribed' | 'refused' | 'unsubscribed';
  /** The application's own state for this session, persisted in the same write as the positions. */
  data: unknown;
  on<K extends keyof SubscriptionEvents>(event: K, fn: (e: SubscriptionEvents[K]) => void): () => void;
  off<K extends keyof SubscriptionEvents>(event: K, fn: (e: SubscriptionEvents[K]) => void): void;
  position(runId?: string): RunPosition | null;
  pendingApprovals(): Approval[];
  send(text: string): Promise<{ runId: string; epoch: string }>;
  abort(runId?: string): Promise<RunEnd>;
  unsubscribe(options?: { forget?: boolean }): void;
}

export declare class RunlaneClient {
  constructor(options: RunlaneClientOptions);
  readonly state: 'idle' | 'connecting' | 'open' | 'closed';
  readonly serverEpoch: string | null;
  readonly connectionId: string | null;
  /**
   * `compactEvents`: protocol-2 events decoded; `unmappedDropped`: compact events of a run the client
   * could not map (0 with a correct server); `malformedDropped`: messages (or parts of a joined
   * message) that were not a JSON object or array, ignored (0 with a correct server).
   */
  readonly stats: {
    connects: number; reconnects: number; duplicatesDropped: number; eventsApplied: number;
    compactEvents: number; unmappedDropped: number; malformedDropped: number;
  };
  /** The wire protocol of the current connection: 1 until the server's hello grants more. */
  readonly protocol: number;
  /** The transport in use: `'websocket'` or `'sse'`. */
  readonly transport: 'websocket' | 'sse';
  readonly subscriptions: Map<string, Subscription>;
  on<K extends keyof ClientEvents>(event: K, fn: (e: ClientEvents[K]) => void): () => void;
  off<K extends keyof ClientEvents>(event: K, fn: (e: ClientEvents[K]) => void): void;
  connect(): void;
  subscribe(sessionId: string, handlers?: SubscriptionHandlers, options?: { takeover?: boolean }): Subscription;
  subscription(sessionId: string): Subscription | null;
  /** Starts a run; resolves when a run with this text starts, rejects with a RunlaneError. Never queued or retried. */
  send(sessionId: string, text: string): Promise<{ runId: string; epoch: string }>;
  abort(sessionId: string, runId?: string): Promise<RunEnd>;
  resolveApproval(approvalId: string, decision: boolean | { allow: boolean; message?: string }): Promise<ApprovalResolved & { kind: string }>;
  close(): void;
}

export declare function memoryStorage(): RunlaneStorage;
export declare function httpTicketProvider(
  url: string,
  options?: { body?: Record<string, string>; headers?: Record<string, string>; fetch?: typeof fetch; credentials?: string },
): () => Promise<{ ticket: string; [k: string]: unknown }>;

export default RunlaneClient;
