// An in-memory FX feed for tests: serves the rates it is given, or fails the way the real feed fails
// (FxFeedError, retryable outage or non-retryable rejection) for the next `failNext` calls.
import type { EurRate } from '../../billing/fx';
import { FxFeedError, type FxRateFeed } from './port';

export class FakeFxFeed implements FxRateFeed {
  readonly source = 'ecb';
  calls = 0;
  private failures: FxFeedError[] = [];

  constructor(private rates: EurRate[]) {}

  setRates(rates: EurRate[]): void {
    this.rates = rates;
  }

  /** The next call throws an outage (retryable) or a rejection (not retryable). */
  failNext(kind: 'unavailable' | 'rejected'): void {
    this.failures.push(
      kind === 'unavailable'
        ? new FxFeedError('fx_feed_unavailable', 'ECB feed answered 503', true)
        : new FxFeedError('fx_feed_rejected', 'ECB feed answered 404', false),
    );
  }

  async fetchDaily(): Promise<EurRate[]> {
    const all = await this.fetchLast90Days();
    const latest = all.reduce((m, r) => (r.date > m ? r.date : m), '');
    return all.filter((r) => r.date === latest);
  }

  async fetchLast90Days(): Promise<EurRate[]> {
    this.calls++;
    const f = this.failures.shift();
    if (f) throw f;
    return [...this.rates];
  }
}
