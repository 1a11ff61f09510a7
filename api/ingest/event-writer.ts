// Group commit for usage events. Concurrent requests hand their (already validated) rows to ONE writer,
// which keeps up to `maxConcurrentWrites` statements in flight:
//   - a write slot free and nothing queued: the request is written at once (at the end of the current event
//     loop turn, so requests parsed in the same turn share the statement) — no fixed delay when idle;
//   - all slots busy: requests queue, and the queue is written as ONE group the moment a slot frees (the
//     group forms while the previous statements run: classic group commit). `maxDelayMs` (default 0) lets a
//     group linger up to that long for company, but only while other statements are in flight;
//   - `maxRows` caps a group (a request is never split: a group holds at least one whole request).
// Each group is ONE statement (default insertEvents; the app uses insertEventsWithRollups), and each request's
// promise resolves only after that statement committed. A request's rows are never split across statements:
// if a group statement fails, each request of the group is retried alone, so an innocent request still
// commits and a failing one commits none of its rows.
import type { Knex } from 'knex';
import { insertEvents, type EventRow, type InsertedEvent } from '../../db/repositories/events';
import { consoleLogger, type Logger } from '../errors';

export interface EventWriterOptions {
  /** How long a group may wait for company while other statements are in flight (default 0: never waits). */
  maxDelayMs?: number;
  /** A group holds at most this many rows (unless one request alone has more). */
  maxRows?: number;
  /** Statements in flight at once (each uses one pool connection). */
  maxConcurrentWrites?: number;
  logger?: Logger;
  /** The statement for one group (default: insertEvents; the app uses insertEventsWithRollups). */
  insert?: (rows: EventRow[]) => Promise<InsertedEvent[]>;
}

interface Pending {
  rows: EventRow[];
  /** performance.now() at write() */
  at: number;
  resolve(inserted: InsertedEvent[]): void;
  reject(err: unknown): void;
}

export interface EventWriterCounters {
  statements: number;
  groups: number;
  rowsWritten: number;
  rowsInserted: number;
  requests: number;
}

export class EventWriter {
  private readonly maxDelayMs: number;
  private readonly maxRows: number;
  private readonly maxConcurrentWrites: number;
  private readonly logger: Logger;
  private readonly insert: (rows: EventRow[]) => Promise<InsertedEvent[]>;
  private queue: Pending[] = [];
  private queuedRows = 0;
  private immediate: NodeJS.Immediate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private readonly idleWaiters: (() => void)[] = [];
  private closed = false;
  readonly counters: EventWriterCounters = { statements: 0, groups: 0, rowsWritten: 0, rowsInserted: 0, requests: 0 };

  constructor(private readonly db: Knex, options: EventWriterOptions = {}) {
    this.maxDelayMs = options.maxDelayMs ?? 0;
    this.maxRows = options.maxRows ?? 5_000;
    this.maxConcurrentWrites = options.maxConcurrentWrites ?? 4;
    this.logger = options.logger ?? consoleLogger;
    this.insert = options.insert ?? ((rows) => insertEvents(this.db, rows));
  }

  /** Write one request's rows; resolves after COMMIT with the rows that were new (the rest were duplicates). */
  write(rows: EventRow[]): Promise<InsertedEvent[]> {
    if (this.closed) return Promise.reject(new Error('EventWriter is closed'));
    if (rows.length === 0) return Promise.resolve([]);
    return new Promise<InsertedEvent[]>((resolve, reject) => {
      this.queue.push({ rows, at: performance.now(), resolve, reject });
      this.queuedRows += rows.length;
      this.counters.requests += 1;
      this.schedule();
    });
  }

  /** Write everything queued now and wait for all statements in flight. */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight > 0) {
      this.drain(true);
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  /** Decide when the queue is written (see the header). A finishing statement calls this again. */
  private schedule(): void {
    if (this.queue.length === 0 || this.inFlight >= this.maxConcurrentWrites) return; // a slot freeing re-schedules
    if (this.inFlight === 0 || this.maxDelayMs <= 0 || this.queuedRows >= this.maxRows) {
      this.immediate ??= setImmediate(() => {
        this.immediate = null;
        this.drain(false);
      });
      return;
    }
    // Other statements are in flight: linger up to maxDelayMs after the oldest queued request.
    if (!this.timer) {
      const wait = Math.max(0, this.queue[0].at + this.maxDelayMs - performance.now());
      this.timer = setTimeout(() => {
        this.timer = null;
        this.drain(true);
      }, wait);
    }
  }

  /** Start groups while slots are free (`force`: even if the linger time has not passed). */
  private drain(force: boolean): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.queue.length > 0 && this.inFlight < this.maxConcurrentWrites) {
      if (!force && this.inFlight > 0 && this.maxDelayMs > 0 && this.queuedRows < this.maxRows && performance.now() - this.queue[0].at < this.maxDelayMs) {
        this.schedule();
        return;
      }
      const group: Pending[] = [];
      let rows = 0;
      while (this.queue.length > 0 && (group.length === 0 || rows + this.queue[0].rows.length <= this.maxRows)) {
        const p = this.queue.shift()!;
        group.push(p);
        rows += p.rows.length;
      }
      this.queuedRows -= rows;
      this.inFlight += 1;
      void this.writeGroup(group).finally(() => this.afterWrite());
    }
  }

  private afterWrite(): void {
    this.inFlight -= 1;
    if (this.queue.length > 0) {
      // The group formed while statements ran: write it now (or linger, see schedule()).
      if (this.closed || this.idleWaiters.length > 0) this.drain(true);
      else this.drain(false);
    } else if (this.inFlight === 0) {
      this.idleWaiters.splice(0).forEach((w) => w());
    }
  }

  private async writeGroup(group: Pending[]): Promise<void> {
    try {
      const results = await this.insertGroup(group);
      group.forEach((p, i) => p.resolve(results[i]));
    } catch (err) {
      if (group.length === 1) {
        group[0].reject(err);
        return;
      }
      this.logger.warn('event group write failed; retrying its requests one by one', { requests: group.length, error: String(err) });
      for (const p of group) {
        try {
          const [result] = await this.insertGroup([p]);
          p.resolve(result);
        } catch (e) {
          p.reject(e);
        }
      }
    }
  }

  /** One statement for the group; a row repeated inside the group is written once, owned by its first request. */
  private async insertGroup(group: Pending[]): Promise<InsertedEvent[][]> {
    const owner = new Map<string, number>();
    const unique: EventRow[] = [];
    group.forEach((p, i) => {
      for (const row of p.rows) {
        const k = `${row.organizationId}\u0000${row.transactionId}`;
        if (!owner.has(k)) {
          owner.set(k, i);
          unique.push(row);
        }
      }
    });
    this.counters.statements += 1;
    this.counters.groups += 1;
    this.counters.rowsWritten += unique.length;
    const inserted = await this.insert(unique);
    this.counters.rowsInserted += inserted.length;
    if (group.length === 1) return [inserted];
    const results: InsertedEvent[][] = group.map(() => []);
    for (const ev of inserted) results[owner.get(`${ev.organizationId}\u0000${ev.transactionId}`)!].push(ev);
    return results;
  }
}
