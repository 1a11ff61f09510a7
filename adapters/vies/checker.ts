// VAT number verification: offline format/checksum first (jsvat-next, billing/tax/vat-number), then VIES through
// its port, with an LRU cache. Definite answers (valid / invalid) are cached for `ttlMs` (default 24 h); an
// `unknown` answer is never cached, so the next invoice asks VIES again.
import { LRUCache } from 'lru-cache';
import { checkVatNumberFormat, isEuCountry, type VatNumberFormat, type VatNumberStatus } from '../../billing/tax';
import type { ViesAnswer, ViesPort } from './port';

export interface VatNumberVerification {
  status: VatNumberStatus;
  format: VatNumberFormat | null;
  vies: ViesAnswer | null;
  /** Why this status, for the invoice's tax decision. */
  reason: string;
  fromCache: boolean;
}

export interface VatNumberCheckerOptions {
  ttlMs?: number;
  maxEntries?: number;
}

export class VatNumberChecker {
  private readonly cache: LRUCache<string, ViesAnswer>;

  constructor(
    private readonly vies: ViesPort,
    opts: VatNumberCheckerOptions = {},
  ) {
    this.cache = new LRUCache<string, ViesAnswer>({ max: opts.maxEntries ?? 10_000, ttl: opts.ttlMs ?? 24 * 3600_000 });
  }

  async verify(raw: string | null | undefined): Promise<VatNumberVerification> {
    if (!raw || raw.trim() === '') return { status: 'absent', format: null, vies: null, reason: 'no VAT number', fromCache: false };
    const format = checkVatNumberFormat(raw);
    if (!format.formatValid || !format.country || !format.viesCountryCode) {
      return { status: 'invalid', format, vies: null, reason: 'format or checksum invalid (jsvat-next)', fromCache: false };
    }
    if (!isEuCountry(format.country)) {
      return { status: 'unknown', format, vies: null, reason: `format valid; no online registry check for ${format.country}`, fromCache: false };
    }
    const key = `${format.viesCountryCode}${format.localNumber}`;
    const hit = this.cache.get(key);
    if (hit) return { status: hit.outcome, format, vies: hit, reason: `VIES ${hit.reason} (cached)`, fromCache: true };
    const answer = await this.vies.check(format.viesCountryCode, format.localNumber);
    if (answer.outcome !== 'unknown') this.cache.set(key, answer);
    return { status: answer.outcome, format, vies: answer, reason: `VIES ${answer.reason}`, fromCache: false };
  }
}
