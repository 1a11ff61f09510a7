// The FX feed port: where euro reference rates come from. Production: the ECB over HTTP (ecb-http.ts).
// Tests: the same HTTP adapter against a local server serving fixture files, or FakeFxFeed (fake.ts).
import type { EurRate } from '../../billing/fx';

export interface FxRateFeed {
  /** The feed's name, stored as the rates' `source` ('ecb'). */
  readonly source: string;
  /** The latest publication day (eurofxref-daily.xml). */
  fetchDaily(): Promise<EurRate[]>;
  /** The last 90 days (eurofxref-hist-90d.xml): a refresh after an outage fills the gap. */
  fetchLast90Days(): Promise<EurRate[]>;
}

/**
 * A feed failure classified at the source: `retryable` for outages (5xx, timeouts, connection errors, a
 * truncated body), not for answers that will not change by retrying (4xx, a document that is not ECB XML).
 */
export class FxFeedError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(code: string, message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FxFeedError';
    this.code = code;
    this.retryable = retryable;
  }
}
