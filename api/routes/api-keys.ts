// API key management (Meterline extension; Lago 1.51's public API has no keys route, so the paths are ours):
//   POST   /api_keys                 {api_key: {name}}  → the new key, its `value` shown this once
//   GET    /api_keys                                    → the organization's keys (never their values)
//   DELETE /api_keys/:lago_id                           → revoked at once on every API process (api/auth.ts)
//   POST   /api_keys/:lago_id/rotate                    → a new key with the same name; the old one revoked
// Revoking the organization's last active key is refused (422 last_active_api_key): rotate instead.
import { Router } from 'express';
import { createApiKeyRecord, getApiKey, listApiKeys, revokeApiKey, rotateApiKey, type ApiKeyRecord } from '../../db/repositories/organizations';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { ApiError, notFound } from '../errors';
import { ApiKeyCreateBody } from '../schemas/api-keys';
import { iso, parseBody } from '../schemas/common';

function serialize(k: ApiKeyRecord, value?: string) {
  return {
    lago_id: k.id,
    name: k.name,
    ...(value !== undefined ? { value } : {}),
    last_four: k.lastFour,
    created_at: iso(k.createdAt),
    revoked_at: iso(k.revokedAt),
  };
}

export function apiKeyRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.post('/api_keys', async (req, res) => {
    const input = parseBody(ApiKeyCreateBody, req.body).api_key;
    const key = await createApiKeyRecord(ctx.db, orgId(res), input.name);
    res.json({ api_key: serialize(key, key.value) });
  });

  r.get('/api_keys', async (_req, res) => {
    res.json({ api_keys: (await listApiKeys(ctx.db, orgId(res))).map((k) => serialize(k)) });
  });

  r.get('/api_keys/:lago_id', async (req, res) => {
    const key = await getApiKey(ctx.db, orgId(res), req.params.lago_id);
    if (!key) throw notFound('api_key');
    res.json({ api_key: serialize(key) });
  });

  /** Revoke or rotate one key: 404 for another organization's or unknown key, 422 for the last active one; the
   * key cache of this process dropped at once (other processes: the trigger's notification). */
  async function changeKey<O extends object>(organizationId: string, id: string, change: () => Promise<O>): Promise<Exclude<O, { error: string }>> {
    if (!(await getApiKey(ctx.db, organizationId, id))) throw notFound('api_key');
    const out = await change();
    ctx.apiKeysChanged?.(organizationId);
    if ('error' in out) {
      if (out.error === 'api_key_not_found') throw notFound('api_key');
      throw new ApiError(422, 'validation_errors', 'Validation errors', { base: [out.error] });
    }
    return out as Exclude<O, { error: string }>;
  }

  r.delete('/api_keys/:lago_id', async (req, res) => {
    const organizationId = orgId(res);
    const out = await changeKey(organizationId, req.params.lago_id, () => revokeApiKey(ctx.db, organizationId, req.params.lago_id));
    res.json({ api_key: serialize(out.key) });
  });

  r.post('/api_keys/:lago_id/rotate', async (req, res) => {
    const organizationId = orgId(res);
    const out = await changeKey(organizationId, req.params.lago_id, () => rotateApiKey(ctx.db, organizationId, req.params.lago_id));
    res.json({ api_key: serialize(out.key, out.key.value), revoked_api_key: serialize(out.revoked) });
  });

  return r;
}
