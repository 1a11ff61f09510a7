// The feed of API key / organization changes an API process's key cache needs (issue 7, ingest7c): ONE dedicated
// Postgres connection per process that LISTENs on `meterline_api_key_changes`, the channel the triggers of
// migration 20261203000100 notify in every transaction that inserts, updates or deletes a key or changes an
// organization. Postgres delivers a notification to every listening connection at the sender's commit.
//
// The feed says when it can be trusted: `listening` is true only while a LISTEN is active on a live connection.
// A notification sent while the connection is down is lost for good, so the owner (api/auth.ts) must treat
// `onLost` as "anything may have changed" (drop the cache, bypass it) and `onListening` as "from now on every
// change is announced" (only answers read AFTER it may be cached). The connection is re-opened with a backoff;
// a heartbeat (`SELECT 1`) every heartbeatMs declares it lost when unanswered, so a silently dead connection
// (no FIN, no RST) cannot pass for a listening one for longer than that.
import pg from 'pg';
import type { Knex } from 'knex';

export const API_KEY_CHANGES_CHANNEL = 'meterline_api_key_changes';

export type ApiKeyChange = { kind: 'key'; keyHash: string } | { kind: 'organization'; organizationId: string } | { kind: 'all' };

export interface ApiKeyChangeHandlers {
  onChange(change: ApiKeyChange): void;
  /** LISTEN is active (again): changes committed from now on are announced. */
  onListening(): void;
  /** The connection is gone: changes may have been missed until the next onListening. */
  onLost(): void;
}

export interface ApiKeyChangeFeedOptions {
  /** Heartbeat period and its answer's deadline (default 5 s). */
  heartbeatMs?: number;
  /** Reconnect backoff: first and largest delay (default 100 ms → 5 s). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Reports connection failures (default: none). */
  onError?: (err: unknown) => void;
}

export function parseApiKeyChange(payload: string | undefined): ApiKeyChange {
  if (payload?.startsWith('k:')) return { kind: 'key', keyHash: payload.slice(2) };
  if (payload?.startsWith('o:')) return { kind: 'organization', organizationId: payload.slice(2) };
  return { kind: 'all' }; // '*' or anything unknown: the safe reading
}

/** The pg connection settings of a knex instance (the feed opens its own connection, outside the pool). */
export function connectionConfigOf(db: Knex): pg.ClientConfig {
  const c = (db.client as Knex.Client & { connectionSettings?: unknown }).connectionSettings ?? (db.client as Knex.Client).config.connection;
  if (typeof c === 'string') return { connectionString: c };
  // knex keeps the password as a hidden (non-enumerable) property: a spread alone would drop it.
  if (c && typeof c === 'object') return { ...(c as pg.ClientConfig), password: (c as pg.ClientConfig).password };
  throw new Error('api key change feed: the database connection settings are not a string or an object');
}

export class ApiKeyChangeFeed {
  private client: pg.Client | null = null;
  private stopped = false;
  private isListening = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private backendPid: number | null = null;
  private readonly heartbeatMs: number;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;
  private readonly listeningWaiters: (() => void)[] = [];
  private ending: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly handlers: ApiKeyChangeHandlers,
    private readonly options: ApiKeyChangeFeedOptions = {},
  ) {
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
    this.reconnectMinMs = options.reconnectMinMs ?? 100;
    this.reconnectMaxMs = options.reconnectMaxMs ?? 5_000;
  }

  get listening(): boolean {
    return this.isListening;
  }

  /** The Postgres backend pid of the LISTEN connection while listening (tests terminate it), else null. */
  get listenerPid(): number | null {
    return this.isListening ? this.backendPid : null;
  }

  /** Opens the connection (in the background; failures are retried until stop()). */
  start(): void {
    if (this.stopped || this.client || this.reconnectTimer) return;
    void this.connect();
  }

  /** Resolves once LISTEN is active (at once when it is). */
  whenListening(): Promise<void> {
    if (this.isListening) return Promise.resolve();
    return new Promise((resolve) => this.listeningWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.lose(this.client);
    await this.ending;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...this.config, application_name: 'meterline-api-key-changes', keepAlive: true });
    this.client = client;
    client.on('notification', (msg) => {
      if (client === this.client && msg.channel === API_KEY_CHANGES_CHANNEL) this.handlers.onChange(parseApiKeyChange(msg.payload));
    });
    client.on('error', (err) => {
      this.options.onError?.(err);
      this.lose(client);
    });
    client.on('end', () => this.lose(client));
    try {
      await client.connect();
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await client.query(`LISTEN ${API_KEY_CHANGES_CHANNEL}`);
      if (client !== this.client || this.stopped) return; // lost or stopped meanwhile
      this.backendPid = rows[0]!.pid;
      this.attempt = 0;
      this.isListening = true;
      this.handlers.onListening();
      this.heartbeatTimer = setInterval(() => this.heartbeat(client), this.heartbeatMs);
      this.heartbeatTimer.unref();
      for (const w of this.listeningWaiters.splice(0)) w();
    } catch (err) {
      this.options.onError?.(err);
      this.lose(client);
    }
  }

  private heartbeat(client: pg.Client): void {
    let answered = false;
    const deadline = setTimeout(() => {
      if (!answered) this.lose(client);
    }, this.heartbeatMs);
    deadline.unref();
    client.query('SELECT 1').then(
      () => {
        answered = true;
        clearTimeout(deadline);
      },
      () => this.lose(client),
    );
  }

  /** `client` is no longer to be trusted: tell the owner, drop it, and reconnect unless stopped. */
  private lose(client: pg.Client | null): void {
    if (client === null || client !== this.client) return;
    this.client = null;
    this.backendPid = null;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    const wasListening = this.isListening;
    this.isListening = false;
    client.removeAllListeners('notification');
    client.on('error', () => {}); // late errors of a dropped connection
    this.ending = client.end().catch(() => undefined);
    if (wasListening) this.handlers.onLost();
    if (this.stopped) return;
    const delay = Math.min(this.reconnectMaxMs, this.reconnectMinMs * 2 ** this.attempt);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }
}
