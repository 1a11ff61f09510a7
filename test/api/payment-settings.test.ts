// Payment settings through the real HTTP API and Postgres: the Stripe connection (secrets write-only) and the
// dunning campaigns (one default per organization), and collection picking them up.
import { createPaymentActivities } from '../../activities/payments';
import { createDunningCampaign, putProviderConnection } from '../../db/repositories/payment-settings';
import { getProviderConfig } from '../../db/repositories/payments';
import { createBillingSetup } from '../support/fixtures';
import { NOV } from '../support/payment-fixtures';
import { createActivities } from '../../activities';
import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_payset' });
});
afterAll(async () => {
  await h?.stop();
});

test('PUT /payment_providers/stripe connects Stripe; the secret key is stored but never read back; DELETE disconnects', async () => {
  const put = await h.request('PUT', '/payment_providers/stripe', { payment_provider: { code: 'stripe-eu', secret_key: 'sk_test_abcdWXYZ', webhook_secret: 'whsec_123', success_redirect_url: 'https://example.test/thanks' } });
  expect(put.status).toBe(200);
  expect(put.body.payment_provider).toEqual({ code: 'stripe-eu', payment_provider: 'stripe', secret_key_last4: 'WXYZ', webhook_secret_configured: true, success_redirect_url: 'https://example.test/thanks', created_at: expect.any(String) });
  const list = await h.request('GET', '/payment_providers');
  expect(JSON.stringify(list.body)).not.toMatch(/sk_test_abcdWXYZ|whsec_123/);
  expect(await getProviderConfig(h.database.db, h.org.id)).toMatchObject({ code: 'stripe-eu', secretKey: 'sk_test_abcdWXYZ', webhookSecret: 'whsec_123' });
  // Replacing keeps one connection.
  await h.request('PUT', '/payment_providers/stripe', { payment_provider: { secret_key: 'rk_live_zzzz9999' } });
  expect((await h.request('GET', '/payment_providers')).body.payment_providers).toEqual([expect.objectContaining({ code: 'stripe', secret_key_last4: '9999', webhook_secret_configured: false })]);
  expect((await h.request('DELETE', '/payment_providers/stripe')).status).toBe(200);
  expect(await getProviderConfig(h.database.db, h.org.id)).toBeNull();
  expect((await h.request('DELETE', '/payment_providers/stripe')).body).toMatchObject({ status: 404, code: 'payment_provider_not_found' });
});

test('a malformed key, webhook secret or redirect URL is 422 naming the field; nothing is stored', async () => {
  const bad = await h.request('PUT', '/payment_providers/stripe', { payment_provider: { secret_key: 'pk_test_public', webhook_secret: 'nope', success_redirect_url: 'javascript:alert(1)' } });
  expect(bad.status).toBe(422);
  expect(Object.keys(bad.body.error_details).sort()).toEqual(['secret_key', 'success_redirect_url', 'webhook_secret'] /* Lago names the field, not its path */);
  expect(await getProviderConfig(h.database.db, h.org.id)).toBeNull();
});

test('dunning campaigns: CRUD in Lago\'s field names, one default at a time, duplicates and bad thresholds refused', async () => {
  const body = (code: string, extra: Record<string, unknown> = {}) => ({ dunning_campaign: { code, name: code, max_attempts: 3, days_between_attempts: 2, thresholds: [{ currency: 'USD', amount_cents: 1000 }], ...extra } });
  const a = await h.request('POST', '/dunning_campaigns', body('dun-a', { applied_to_organization: true }));
  expect(a.body.dunning_campaign).toMatchObject({ code: 'dun-a', max_attempts: 3, days_between_attempts: 2, thresholds: [{ currency: 'USD', amount_cents: 1000 }], consequence: 'mark_uncollectible', applied_to_organization: true });
  await h.request('POST', '/dunning_campaigns', body('dun-b', { applied_to_organization: true, consequence: 'terminate_subscription' }));
  const list = (await h.request('GET', '/dunning_campaigns')).body.dunning_campaigns;
  expect(list.map((c: any) => [c.code, c.applied_to_organization])).toEqual([['dun-a', false], ['dun-b', true]]);
  expect((await h.request('POST', '/dunning_campaigns', body('dun-a'))).body).toMatchObject({ status: 422, error_details: { code: ['value_already_exist'] } });
  const dup = await h.request('POST', '/dunning_campaigns', body('dun-c', { thresholds: [{ currency: 'USD', amount_cents: 1 }, { currency: 'USD', amount_cents: 2 }] }));
  expect(dup.body.error_details).toEqual({ thresholds: ['value_is_duplicated'] });
  const cur = await h.request('POST', '/dunning_campaigns', body('dun-d', { thresholds: [{ currency: 'XXQ', amount_cents: 1 }], max_attempts: 0 }));
  expect(Object.keys(cur.body.error_details).sort()).toEqual(['max_attempts', 'thresholds[0].currency']);
  expect((await h.request('GET', '/dunning_campaigns')).body.dunning_campaigns).toHaveLength(2);
  const moved = await h.request('PUT', '/dunning_campaigns/dun-a', { dunning_campaign: { applied_to_organization: true, max_attempts: 5 } });
  expect(moved.body.dunning_campaign).toMatchObject({ code: 'dun-a', applied_to_organization: true, max_attempts: 5 });
  expect((await h.request('GET', '/dunning_campaigns/dun-b')).body.dunning_campaign.applied_to_organization).toBe(false);
  expect((await h.request('PUT', '/dunning_campaigns/dun-b', { dunning_campaign: { code: 'dun-a' } })).status).toBe(422);
  expect((await h.request('DELETE', '/dunning_campaigns/dun-b')).status).toBe(200);
  expect((await h.request('GET', '/dunning_campaigns/dun-b')).body).toMatchObject({ status: 404, code: 'dunning_campaign_not_found' });
});

test('collection uses what the API configured: the default campaign and the Stripe connection', async () => {
  const s = await createBillingSetup(h.database.db, { planAmountCents: 5000, metrics: [], charges: () => [] });
  const billing = createActivities({ db: h.database.db });
  const draft = await billing.createPeriodInvoice({ organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period: NOV, fullPeriod: NOV });
  await billing.finalizeInvoice({ organizationId: s.org.id, invoiceId: draft.invoiceId });
  const payments = createPaymentActivities({ db: h.database.db, providerFor: () => { throw new Error('not called'); } });
  const before = await payments.prepareCollection({ organizationId: s.org.id, invoiceId: draft.invoiceId });
  expect([before.providerConfigured, before.dunning]).toEqual([false, null]);
  // The setup's organization has no API key: configured through the repository functions the routes call.
  await putProviderConnection(h.database.db, s.org.id, { code: 'stripe', secretKey: 'sk_test_x', webhookSecret: null, successRedirectUrl: null });
  await createDunningCampaign(h.database.db, s.org.id, { code: 'd', name: 'd', maxAttempts: 4, daysBetweenAttempts: 7, thresholds: [{ currency: 'USD', amountCents: 100 }], consequence: 'terminate_subscription', appliedToOrganization: true });
  const after = await payments.prepareCollection({ organizationId: s.org.id, invoiceId: draft.invoiceId });
  expect(after.providerConfigured).toBe(true);
  expect(after.dunning).toEqual({ code: 'd', maxAttempts: 4, daysBetweenAttempts: 7, consequence: 'terminate_subscription' });
});
