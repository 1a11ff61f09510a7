// The VIES port: "is this VAT number registered in that member state?". VIES answers valid / invalid, or that it
// cannot tell (member state unavailable, timeouts, concurrency limits): that is `unknown`, never `invalid`.
export type ViesOutcome = 'valid' | 'invalid' | 'unknown';

export interface ViesAnswer {
  outcome: ViesOutcome;
  /** VIES's own code (VALID, INVALID, MS_UNAVAILABLE, TIMEOUT, SERVICE_UNAVAILABLE, MS_MAX_CONCURRENT_REQ, …) or NETWORK / HTTP_<status>. */
  reason: string;
  countryCode: string;
  vatNumber: string;
  requestDate: string | null;
  /** VIES consultation number, evidence for tax audits, when VIES gave one. */
  requestIdentifier: string | null;
  name: string | null;
}

export interface ViesPort {
  /** `countryCode`: VIES member-state code (EL for Greece); `vatNumber`: without the prefix. Never throws for VIES-side failures. */
  check(countryCode: string, vatNumber: string): Promise<ViesAnswer>;
}
