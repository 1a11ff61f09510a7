// Lago's metadata endpoints (issue 13) for plans (by code), credit notes and wallets (by lago_id):
//   POST   /<owner>/:ref/metadata        {metadata: {...}} → {metadata}  replaces every key
//   PATCH  /<owner>/:ref/metadata        {metadata: {...}} → {metadata}  adds / overwrites the given keys
//   DELETE /<owner>/:ref/metadata                          → {metadata: null}
//   DELETE /<owner>/:ref/metadata/:key                     → {metadata}  (a missing key: unchanged, still 200)
// The object's GET (and every answer carrying it) shows the same `metadata` (null until set).
import { Router } from 'express';
import { walletIdByCode } from '../../db/repositories/customer-money';
import { getCustomerByExternalId } from '../../db/repositories/customers';
import { clearMetadata, deleteMetadataKey, lockMetadata, mergeMetadata, metadataOwnerId, replaceMetadata, type MetadataOwner } from '../../db/repositories/object-metadata';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound, validationError } from '../errors';
import { parseBody } from '../schemas/common';
import { MAX_METADATA_KEYS, MetadataBody } from '../schemas/object-metadata';

type Resolve = (ctx: RouteContext, organizationId: string, params: Record<string, string>) => Promise<string | null>;

const OWNERS: { owner: MetadataOwner; base: string; param: string; resolve?: Resolve }[] = [
  { owner: 'plan', base: '/plans/:code', param: 'code' },
  { owner: 'credit_note', base: '/credit_notes/:lago_id', param: 'lago_id' },
  { owner: 'wallet', base: '/wallets/:lago_id', param: 'lago_id' },
  // ops13d (issue 13): the same wallet metadata, the wallet named by its customer's external id and its code.
  {
    owner: 'wallet',
    base: '/customers/:external_customer_id/wallets/:wallet_code',
    param: 'wallet_code',
    resolve: async (ctx, organizationId, params) => {
      const customer = await getCustomerByExternalId(ctx.db, organizationId, params.external_customer_id!);
      return customer ? walletIdByCode(ctx.db, organizationId, customer.id, params.wallet_code!) : null;
    },
  },
];

export function objectMetadataRoutes(ctx: RouteContext): Router {
  const r = Router();
  for (const { owner, base, param, resolve } of OWNERS) {
    const ownerId = async (organizationId: string, params: Record<string, string>) => {
      const id = resolve ? await resolve(ctx, organizationId, params) : await metadataOwnerId(ctx.db, organizationId, owner, params[param]!);
      if (!id) throw notFound(owner);
      return id;
    };

    r.post(`${base}/metadata`, async (req, res) => {
      const organizationId = orgId(res);
      const { metadata } = parseBody(MetadataBody, req.body);
      const id = await ownerId(organizationId, req.params as Record<string, string>);
      res.json({ metadata: await replaceMetadata(ctx.db, organizationId, owner, id, metadata) });
    });

    r.patch(`${base}/metadata`, async (req, res) => {
      const organizationId = orgId(res);
      const { metadata } = parseBody(MetadataBody, req.body);
      const id = await ownerId(organizationId, req.params as Record<string, string>);
      const merged = await ctx.db.transaction(async (trx) => {
        const current = await lockMetadata(trx, organizationId, owner, id);
        if (Object.keys({ ...(current ?? {}), ...metadata }).length > MAX_METADATA_KEYS) throw validationError({ metadata: ['too_many_keys'] });
        return mergeMetadata(trx, organizationId, owner, id, metadata);
      });
      res.json({ metadata: merged });
    });

    r.delete(`${base}/metadata`, async (req, res) => {
      const organizationId = orgId(res);
      const id = await ownerId(organizationId, req.params as Record<string, string>);
      res.json({ metadata: await clearMetadata(ctx.db, organizationId, owner, id) });
    });

    r.delete(`${base}/metadata/:key`, async (req, res) => {
      const organizationId = orgId(res);
      const id = await ownerId(organizationId, req.params as Record<string, string>);
      res.json({ metadata: await deleteMetadataKey(ctx.db, organizationId, owner, id, (req.params as Record<string, string>).key!) });
    });
  }
  return r;
}
