// Lago's PUT /fees/:lago_id (updateFee, body {fee: {payment_status}}; issue 13). Only a fee on no invoice (a
// pay-in-advance charge's fee with `invoiceable: false`, Lago's instant fee) has a payment status of its own; an
// invoiced fee is paid with its invoice, so Lago refuses it: 405 `invoiced_fee`. Lago's order of answers: 404 for
// an id that names no fee of the organization, then 405 for an invoiced fee, then 422 for the body.
//
// Idempotent: the same status again writes nothing and answers the same fee (its status timestamp stays the first
// one; Lago would stamp it again). Transactional under the fee's row lock (db/repositories/uninvoiced-fees.ts).
// No webhook: Lago 1.51 has no fee.updated (its fee webhooks are fee.created and fee.tax_provider_error).
import { Router } from 'express';
import { feeStanding, setFeePaymentStatus } from '../../db/repositories/uninvoiced-fees';
import { BillingError } from '../../billing/errors';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound } from '../errors';
import { parseBody } from '../schemas/common';
import { FeeUpdateBody } from '../schemas/everyday';
import { serializeFees } from './everyday-reads';

export function feeUpdateRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.put('/fees/:lago_id', async (req, res) => {
    const organizationId = orgId(res);
    const feeId = req.params.lago_id;
    const standing = await feeStanding(ctx.db, organizationId, feeId);
    if (standing === 'not_found') throw notFound('fee');
    if (standing === 'invoiced') throw new BillingError('invoiced_fee', `Fee ${feeId} is on an invoice: its payment status is the invoice's`, 'payment_status');
    const body = parseBody(FeeUpdateBody, req.body);
    const result = await setFeePaymentStatus(ctx.db, organizationId, feeId, body.fee.payment_status, new Date());
    if (result.outcome === 'not_found') throw notFound('fee');
    const [fee] = await serializeFees(ctx, organizationId, res, [{ feeId, invoiceId: null }]);
    if (!fee) throw notFound('fee');
    res.json({ fee });
  });

  return r;
}
