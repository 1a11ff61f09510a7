// The ECB feed over HTTP (production adapter of FxRateFeed). Base URL https://www.ecb.europa.eu/stats/eurofxref
// by default; tests point it at a local server serving fixture files. Classification (port.ts): 5xx, 429,
// timeouts and network errors are retryable; other 4xx and malformed documents are not.
import { parseEcbXml } from './ecb-parser';
import { FxFeedError, type FxRateFeed } from './port';
import type { EurRate } from '../../billing/fx';

export const ECB_BASE_URL = 'https://www.ecb.europa.eu/stats/eurofxref';

export interface EcbHttpFeedOptions {
  baseUrl?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class EcbHttpFeed implements FxRateFeed {
  readonly source = 'ecb';
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(opts: EcbHttpFeedOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? ECB_BASE_URL).replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.fetchFn = opts.fetch ?? fetch;
  }

  fetchDaily(): Promise<EurRate[]> {
    return this.get('eurofxref-daily.xml');
  }

  fetchLast90Days(): Promise<EurRate[]> {
    return this.get('eurofxref-hist-90d.xml');
  }

  private async get(file: string): Promise<EurRate[]> {
    const url = `${this.baseUrl}/${file}`;
    let res: Response;
    try {
      res = await this.fetchFn(url, { signal: AbortSignal.timeout(this.timeoutMs), headers: { accept: 'application/xml, text/xml' } });
    } catch (err) {
      throw new FxFeedError('fx_feed_unavailable', `ECB feed unreachable (${url}): ${(err as Error).message}`, true, { cause: err });
    }
    if (res.status >= 500 || res.status === 429 || res.status === 408) {
      throw new FxFeedError('fx_feed_unavailable', `ECB feed answered ${res.status} for ${url}`, true);
    }
    if (!res.ok) throw new FxFeedError('fx_feed_rejected', `ECB feed answered ${res.status} for ${url}`, false);
    let body: string;
    try {
      body = await res.text();
    } catch (err) {
      throw new FxFeedError('fx_feed_unavailable', `ECB feed body interrupted (${url})`, true, { cause: err });
    }
    return parseEcbXml(body);
  }
}
