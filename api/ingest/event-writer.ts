// Group commit for usage events. Concurrent requests hand their (already validated) rows to ONE writer;
// it waits a few ms (or until `maxRows`) and writes the whole group with ONE multi-row INSERT (unnest
// arrays, ON CONFLICT DO NOTHING). Each request's promise resolves only after that statement committed.
// A request's rows are never split across statements: if a group statement fails, each request of the group
// is retried alone, so an innocent request still commits and a failing one commits none of its rows.
import type { Knex } from 'knex';
import { insertEvents, type EventRow, type InsertedEvent } from '../../db/repositories/events';
import { consoleLogger, type Logger } from '../errors';

export interface EventWriterOptions {
  /** How long the first request of a group waits for others. */
  maxDelayMs?: number;
  /** A group is written as soon as it holds this many rows. */
  maxRows?: number;
  /** Statements in flight at once (each uses one pool connection). */
  maxConcurrentWrites?: number;
  logger?: Logger;
  /** The statement for one group (default: insertEvents; the app uses insertEventsWithRollups). */
  insert?: (rows: EventRow[]) => Promise<InsertedEvent[]>;
}

interface Pending {
  rows: EventRow[];
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
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private readonly idleWaiters: (() => void)[] = [];
  private closed = false;
  readonly counters: EventWriterCounters = { statements: 0, groups: 0, rowsWritten: 0, rowsInserted: 0, requests: 0 };

  constructor(private readonly db: Knex, options: EventWriterOptions = {}) {
    this.maxDelayMs = options.maxDelayMs ?? 5;
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
      this.queue.push({ rows, resolve, reject });
      this.queuedRows += rows.length;
      this.counters.requests += 1;
      if (this.queuedRows >= this.maxRows) this.drain();
      else if (!this.timer) this.timer = setTimeout(() => this.drain(), this.maxDelayMs);
    });
  }

  /** Write everything queued now and wait for all statements in flight. */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight > 0) {
      this.drain();
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private drain(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.queue.length > 0 && this.inFlight < this.maxConcurrentWrites) {
      const group: Pending[] = [];
      let rows = 0;
      while (this.queue.length > 0 && (group.length === 0 || rows + this.queue[0].rows.length <= this.maxRows)) {
        const p = this.queue.shift()!;
        group.push(p);
        rows += p.rows.length;
      }
      this.queuedRows -= rows;
      this.inFlight += 1;
      void this.writeGroup(group).finally(() => {
        this.inFlight -= 1;
        if (this.queue.length > 0) {
          if (this.queuedRows >= this.maxRows || this.closed) this.drain();
          else if (!this.timer) this.timer = setTimeout(() => this.drain(), this.maxDelayMs);
        }
        if (this.inFlight === 0 && this.queue.length === 0) this.idleWaiters.splice(0).forEach((w) => w());
        else if (this.inFlight < this.maxConcurrentWrites && this.queue.length > 0 && this.idleWaiters.length > 0) this.drain();
      });
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
    const results: InsertedEvent[][] = group.map(() => []);
    for (const ev of inserted) results[owner.get(`${ev.organizationId}\u0000${ev.transactionId}`)!].push(ev);
    return results;
  }
}
