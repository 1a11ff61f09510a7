// Reads that must be fresh, without one query per caller (issue 7: the per-request API key lookup).
//
// Every caller is answered by a read that STARTED AFTER the caller asked: a caller never joins a read already in
// flight (that read's snapshot may predate, say, a key revocation committed just before the caller arrived).
// Callers that arrive while `maxInFlight` reads are running wait together and are answered by ONE read of all
// their keys, started as soon as a slot frees. An idle batcher starts the read at once (no added latency).
// Under READ COMMITTED each statement sees every commit that finished before it started, so an answer reflects
// the database at a moment after the caller's arrival: exactly what one query per caller guarantees, with at most
// `maxInFlight` queries in flight per process instead of one per concurrent request.
//
// A failed read rejects its callers only (the next batch reads again).
export interface FreshReadBatcherOptions<K, V> {
  /** Reads the keys' current values (one query); a key absent from the map has no value. */
  read(keys: K[]): Promise<Map<K, V>>;
  /** Reads running at once (default 2). */
  maxInFlight?: number;
}

interface Waiter<V> {
  resolve(value: V | undefined): void;
  reject(err: unknown): void;
}

export class FreshReadBatcher<K, V> {
  private readonly read: (keys: K[]) => Promise<Map<K, V>>;
  private readonly maxInFlight: number;
  private waiting = new Map<K, Waiter<V>[]>();
  private inFlight = 0;
  /** Reads started (for tests and stats). */
  reads = 0;

  constructor(options: FreshReadBatcherOptions<K, V>) {
    this.read = options.read;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 2);
  }

  /** The key's value as read by a read started after this call (undefined: no value). */
  get(key: K): Promise<V | undefined> {
    return new Promise<V | undefined>((resolve, reject) => {
      const list = this.waiting.get(key);
      if (list) list.push({ resolve, reject });
      else this.waiting.set(key, [{ resolve, reject }]);
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.size > 0) {
      const batch = this.waiting;
      this.waiting = new Map();
      this.inFlight += 1;
      this.reads += 1;
      let result: Promise<Map<K, V>>;
      try {
        result = this.read([...batch.keys()]);
      } catch (err) {
        result = Promise.reject(err);
      }
      result
        .then(
          (values) => {
            for (const [key, waiters] of batch) for (const w of waiters) w.resolve(values.get(key));
          },
          (err: unknown) => {
            for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
          },
        )
        .finally(() => {
          this.inFlight -= 1;
          this.pump();
        })
        .catch(() => {});
    }
  }
}
