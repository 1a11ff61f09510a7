// Signed, expiring customer-portal links.
//
// A token is `v1.<payload>.<signature>`: payload = base64url of the JSON `{"o": organization id, "c": customer id,
// "exp": expiry in unix seconds}`, signature = base64url of HMAC-SHA256 over `v1.<payload>` with the organization's
// portal secret (db/repositories/portal.ts, one per organization, generated on first use). Verification re-computes
// the HMAC with the secret of the organization the payload names and compares in constant time BEFORE trusting
// any field, so a token whose customer, organization or expiry was edited is refused (invalid), and an intact one
// past its expiry is refused (expired).
import crypto from 'node:crypto';

/** How long a portal link opens the portal: 1 hour. Lago's portal URL is meant to be fetched when the portal is shown. */
export const PORTAL_LINK_TTL_SECONDS = 3600;

export interface PortalClaims {
  organizationId: string;
  customerId: string;
  /** Unix seconds. */
  expiresAt: number;
}

const VERSION = 'v1';

function hmac(secret: string, signed: string): Buffer {
  return crypto.createHmac('sha256', secret).update(signed).digest();
}

export function signPortalToken(secret: string, claims: PortalClaims): string {
  const payload = Buffer.from(JSON.stringify({ o: claims.organizationId, c: claims.customerId, exp: claims.expiresAt })).toString('base64url');
  const signed = `${VERSION}.${payload}`;
  return `${signed}.${hmac(secret, signed).toString('base64url')}`;
}

export type PortalTokenCheck = { ok: true; claims: PortalClaims } | { ok: false; reason: 'invalid' | 'expired' };

/** The organization a token claims to belong to (unverified: only to pick the secret to verify it with). */
export function claimedOrganization(token: string): string | null {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) return null;
  try {
    const body = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { o?: unknown };
    return typeof body.o === 'string' ? body.o : null;
  } catch {
    return null;
  }
}

/** Verifies a token with its organization's secret (null: that organization has none) at `nowSeconds`. */
export function verifyPortalToken(token: string, secret: string | null, nowSeconds: number): PortalTokenCheck {
  const parts = token.split('.');
  if (secret === null || parts.length !== 3 || parts[0] !== VERSION) return { ok: false, reason: 'invalid' };
  const expected = hmac(secret, `${parts[0]}.${parts[1]}`);
  const given = Buffer.from(parts[2]!, 'base64url');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid' };
  let body: { o?: unknown; c?: unknown; exp?: unknown };
  try {
    body = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if (typeof body.o !== 'string' || typeof body.c !== 'string' || typeof body.exp !== 'number' || !Number.isSafeInteger(body.exp)) return { ok: false, reason: 'invalid' };
  if (body.exp <= nowSeconds) return { ok: false, reason: 'expired' };
  return { ok: true, claims: { organizationId: body.o, customerId: body.c, expiresAt: body.exp } };
}
