// VIES REST adapter (European Commission, GET {base}/ms/{countryCode}/vat/{number}; JSON with `isValid`,
// `userError`, `requestDate`, `name`, `requestIdentifier`). Every failure of VIES or of the network is an
// `unknown` answer with its reason; only VIES's INVALID / INVALID_INPUT are `invalid`.
import type { ViesAnswer, ViesOutcome, ViesPort } from './port';

export const VIES_REST_BASE_URL = 'https://ec.europa.eu/taxation_customs/vies/rest-api';

export interface ViesHttpOptions {
  baseUrl?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const INVALID_CODES = new Set(['INVALID', 'INVALID_INPUT']);

interface ViesBody {
  isValid?: boolean;
  userError?: string;
  requestDate?: string;
  requestIdentifier?: string;
  name?: string;
  errorWrappers?: { error?: string }[];
}

function outcomeOf(code: string, isValid: boolean | undefined): ViesOutcome {
  if (code === 'VALID' || (code === '' && isValid === true)) return 'valid';
  if (INVALID_CODES.has(code) || (code === '' && isValid === false)) return 'invalid';
  // MS_UNAVAILABLE, TIMEOUT, SERVICE_UNAVAILABLE, MS_MAX_CONCURRENT_REQ, GLOBAL_MAX_CONCURRENT_REQ and anything new.
  return 'unknown';
}

export class ViesHttpClient implements ViesPort {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: ViesHttpOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? VIES_REST_BASE_URL).replace(/\/$/, '');
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  async check(countryCode: string, vatNumber: string): Promise<ViesAnswer> {
    const base = { countryCode, vatNumber, requestDate: null, requestIdentifier: null, name: null };
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.baseUrl}/ms/${encodeURIComponent(countryCode)}/vat/${encodeURIComponent(vatNumber)}`, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const name = (err as { name?: unknown } | null)?.name; // a DOMException, not always an Error instance
      const timeout = name === 'TimeoutError' || name === 'AbortError';
      return { ...base, outcome: 'unknown', reason: timeout ? 'TIMEOUT' : 'NETWORK' };
    }
    let body: ViesBody = {};
    try {
      body = (await res.json()) as ViesBody;
    } catch {
      body = {};
    }
    const code = body.userError ?? body.errorWrappers?.[0]?.error ?? (res.ok ? '' : `HTTP_${res.status}`);
    return {
      ...base,
      outcome: res.ok || INVALID_CODES.has(code) ? outcomeOf(code, body.isValid) : 'unknown',
      reason: code || (body.isValid ? 'VALID' : 'INVALID'),
      requestDate: body.requestDate ?? null,
      requestIdentifier: body.requestIdentifier || null,
      name: body.name && body.name !== '---' ? body.name : null,
    };
  }
}
