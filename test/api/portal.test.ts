// The customer portal in a real browser: Debian's chromium, headless, driven by playwright-core (no browser
// download; CHROMIUM_PATH overrides /usr/bin/chromium), against the real API over a real Postgres.
// The customer has an open period with usage and a finalized invoice (rendered by the real invoice activities).
// Proven, at a desktop and a phone viewport: the link from GET /customers/:id/portal_url opens the page, which
// shows the same numbers as GET /customers/:id/current_usage and GET /invoices; an invoice PDF downloads; a top-up
// request is recorded once; an expired and a tampered link are refused with 403 and a readable message.
// Screenshots go to test/artifacts/ (gitignored) for a person to look at.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createActivities } from '../../activities';
import { getPortalSecret } from '../../db/repositories/portal';
import { signPortalToken } from '../../api/portal/token';
import { responseComponents } from '../../api/schemas/responses';
import { seedSubscription, startApiHarness, type ApiHarness } from './harness';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(__dirname, '..', 'artifacts');
const DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'meterline-portal-'));
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

let h: ApiHarness;
let browser: Browser;
let seed: Awaited<ReturnType<typeof seedSubscription>>;
let other: Awaited<ReturnType<typeof seedSubscription>>;
let invoiceId: string;
let otherInvoiceId: string;
const ajv = new Ajv2020({ strict: false, allErrors: true });

function validate(component: string, body: unknown): void {
  const check = ajv.getSchema(`portal-responses#/components/schemas/${component}`)!;
  if (!check(body)) throw new Error(`${component}: ${ajv.errorsText(check.errors)}\n${JSON.stringify(body).slice(0, 1500)}`);
}

/** The calendar month before the current one (UTC). */
function previousMonth(): { start: string; end: string } {
  const n = new Date();
  return {
    start: new Date(Date.UTC(n.getUTCFullYear(), n.getUTCMonth() - 1, 1)).toISOString(),
    end: new Date(Date.UTC(n.getUTCFullYear(), n.getUTCMonth(), 1)).toISOString(),
  };
}

async function finalizedInvoice(subscriptionId: string): Promise<string> {
  const billing = createActivities({ db: h.database.db });
  const period = previousMonth();
  const draft = await billing.createPeriodInvoice({ organizationId: h.org.id, subscriptionId, kind: 'subscription', period, fullPeriod: period });
  await billing.finalizeInvoice({ organizationId: h.org.id, invoiceId: draft.invoiceId });
  return draft.invoiceId;
}

/** The page's JSON API, called as the page calls it. */
async function portalApi(token: string, method: string, p: string, body?: unknown): Promise<{ status: number; type: string; body: any }> {
  const res = await fetch(`${h.api.url}/portal/api${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, type, body: type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer()) };
}

async function portalUrl(externalCustomerId: string): Promise<string> {
  const res = await h.request('GET', `/customers/${externalCustomerId}/portal_url`);
  expect(res.status).toBe(200);
  validate('CustomerPortalUrlResponse', res.body);
  return res.body.customer.portal_url;
}

const tokenOf = (url: string) => url.split('#')[1]!;

async function open(viewport: { width: number; height: number }, url: string, phone = false): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, acceptDownloads: true, ...(phone ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}) });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
  expect(errors).toEqual([]);
  return { context, page };
}

/** What the page shows for USD cents: `USD 1,234.56`. */
function usd(cents: number): string {
  const s = String(cents).padStart(3, '0');
  return `USD ${s.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${s.slice(-2)}`;
}

beforeAll(async () => {
  process.env.METERLINE_DATA_DIR = DATA_DIR;
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  ajv.addSchema({ $id: 'portal-responses', components: { schemas: responseComponents() } });
  h = await startApiHarness({ prefix: 'portal' });
  const backdated = new Date(Date.now() - 40 * 86_400_000).toISOString();
  seed = await seedSubscription(h, { subscriptionAt: backdated });
  other = await seedSubscription(h, { subscriptionAt: backdated });
  const ts = Math.floor(Date.now() / 1000) - 60;
  const ev = await h.request('POST', '/events/batch', {
    events: [
      { transaction_id: `p1_${seed.subscriptionId}`, external_subscription_id: seed.subscriptionId, code: seed.metricCode, timestamp: ts, properties: { tokens: 1500 } },
      { transaction_id: `p2_${seed.subscriptionId}`, external_subscription_id: seed.subscriptionId, code: seed.metricCode, timestamp: ts, properties: { tokens: 2725 } },
    ],
  });
  expect(ev.status).toBe(200);
  invoiceId = await finalizedInvoice(seed.lagoSubscriptionId);
  otherInvoiceId = await finalizedInvoice(other.lagoSubscriptionId);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
});

test('GET /customers/:id/portal_url answers a signed link to /portal valid 1 hour; an unknown customer is 404', async () => {
  const url = await portalUrl(seed.customerId);
  expect(url).toMatch(new RegExp(`^${h.api.url}/portal#v1\\.`));
  const summary = await portalApi(tokenOf(url), 'GET', '/summary');
  expect(summary.status).toBe(200);
  const expires = Date.parse(summary.body.portal.expires_at);
  expect(expires - Date.now()).toBeGreaterThan(3590_000);
  expect(expires - Date.now()).toBeLessThanOrEqual(3600_000);
  expect((await h.request('GET', '/customers/nobody/portal_url')).status).toBe(404);
});

test('desktop: the page shows the usage and amount current_usage answers, the invoices, and downloads the invoice PDF', async () => {
  const url = await portalUrl(seed.customerId);
  const usage = (await h.request('GET', `/customers/${seed.customerId}/current_usage?external_subscription_id=${seed.subscriptionId}`)).body.customer_usage;
  expect(usage.amount_cents).toBe(845); // 4,225 tokens × 0.002 USD = 8.45 USD
  const invoices = (await h.request('GET', `/invoices?external_customer_id=${seed.customerId}`)).body.invoices;
  expect(invoices.map((i: any) => i.lago_id)).toEqual([invoiceId]);

  // The page's own API answers conform to their closed schemas, and carry the same numbers.
  const summary = await portalApi(tokenOf(url), 'GET', '/summary');
  validate('PortalSummaryResponse', summary.body);
  expect(summary.body.portal.subscriptions.map((s: any) => s.current_usage)).toEqual([usage]);
  const list = await portalApi(tokenOf(url), 'GET', '/invoices');
  validate('PortalInvoiceListResponse', list.body);

  const { context, page } = await open(DESKTOP, url);
  const shown = page.locator(`[data-subscription="${seed.subscriptionId}"] [data-testid="usage-amount"]`);
  expect(await shown.getAttribute('data-amount-cents')).toBe(String(usage.amount_cents));
  expect(await shown.textContent()).toBe(usd(usage.amount_cents));
  expect(await page.locator(`[data-subscription="${seed.subscriptionId}"]`).textContent()).toContain('4225 units');
  const row = page.locator(`tr[data-invoice-id="${invoiceId}"]`);
  expect(await row.locator('[data-testid="invoice-total"]').textContent()).toBe(usd(invoices[0].total_amount_cents));
  expect(await row.textContent()).toContain(invoices[0].number);
  expect(await page.locator('[data-testid="no-wallets"]').isVisible()).toBe(true);
  await page.screenshot({ path: path.join(ARTIFACTS, 'portal-desktop.png'), fullPage: true });

  const [download] = await Promise.all([page.waitForEvent('download'), row.locator('[data-testid="download"]').click()]);
  expect(download.suggestedFilename()).toBe(`${invoices[0].number}.pdf`);
  const file = path.join(DATA_DIR, 'downloaded.pdf');
  await download.saveAs(file);
  expect(fs.readFileSync(file).subarray(0, 5).toString('latin1')).toBe('%PDF-');
  expect(execFileSync('pdftotext', [file, '-']).toString('utf8')).toContain(invoices[0].number);
  // The same bytes as the API key's GET /invoices/:id/file.
  const viaApi = await fetch(`${h.api.url}/api/v1/invoices/${invoiceId}/file`, { headers: { authorization: `Bearer ${h.apiKey}` } });
  expect(Buffer.from(await viaApi.arrayBuffer()).equals(fs.readFileSync(file))).toBe(true);
  await context.close();
});

test('phone: the same numbers, one column without horizontal scrolling; a top-up request is recorded', async () => {
  const url = await portalUrl(seed.customerId);
  const { context, page } = await open(PHONE, url, true);
  expect(await page.locator('[data-testid="usage-amount"]').first().textContent()).toBe(usd(845));
  expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
  // The invoice table becomes one card per invoice (its header row hidden).
  expect(await page.locator('.invoices thead').isVisible()).toBe(false);
  await page.fill('#top-up-amount', '25.50');
  await page.click('#top-up-button');
  await page.waitForSelector('[data-top-up]');
  expect(await page.textContent('#top-up-result')).toContain('USD 25.50 requested');
  const rows = await h.database.db('portal_top_up_requests').where({ organization_id: h.org.id });
  expect(rows.map((r) => [Number(r.amount_cents), r.currency.trim(), r.status])).toEqual([[2550, 'USD', 'requested']]);
  await page.screenshot({ path: path.join(ARTIFACTS, 'portal-phone.png'), fullPage: true });
  await context.close();
});

test('a top-up request is idempotent on its request_key, and a bad amount is a 422 naming the field', async () => {
  const token = tokenOf(await portalUrl(seed.customerId));
  const body = { top_up_request: { amount_cents: 1000, request_key: `k-${crypto.randomUUID()}` } };
  const first = await portalApi(token, 'POST', '/top_up_requests', body);
  expect(first.status).toBe(200);
  validate('PortalTopUpRequestResponse', first.body);
  const again = await portalApi(token, 'POST', '/top_up_requests', body);
  expect(again.body.top_up_request.lago_id).toBe(first.body.top_up_request.lago_id);
  expect(await h.database.db('portal_top_up_requests').where({ request_key: body.top_up_request.request_key }).count('* as n')).toEqual([{ n: 1 }]);
  const bad = await portalApi(token, 'POST', '/top_up_requests', { top_up_request: { amount_cents: -5, request_key: 'x' } });
  expect(bad.status).toBe(422);
  expect(Object.keys(bad.body.error_details)).toEqual(['amount_cents']);
  const noWallet = await portalApi(token, 'POST', '/top_up_requests', { top_up_request: { amount_cents: 5, request_key: 'y', wallet_id: 'nope' } });
  expect(noWallet.body.error_details).toEqual({ wallet_id: ['not_found'] });
});

test("a link opens only its own customer's invoices: another customer's PDF is a 404", async () => {
  const token = tokenOf(await portalUrl(seed.customerId));
  expect((await portalApi(token, 'GET', `/invoices/${otherInvoiceId}/file`)).status).toBe(404);
  const mine = await portalApi(token, 'GET', `/invoices/${invoiceId}/file`);
  expect(mine.status).toBe(200);
  expect(mine.type).toBe('application/pdf');
  const list = await portalApi(tokenOf(await portalUrl(other.customerId)), 'GET', '/invoices');
  expect(list.body.invoices.map((i: any) => i.lago_id)).toEqual([otherInvoiceId]);
});

test('an expired and a tampered link are refused: 403 with a readable message, on the page at both viewports', async () => {
  const good = tokenOf(await portalUrl(seed.customerId));
  const secret = (await getPortalSecret(h.database.db, h.org.id))!;
  const customerRowId = (await h.database.db('customers').where({ organization_id: h.org.id, external_id: seed.customerId }).first('id')).id;
  const otherRowId = (await h.database.db('customers').where({ organization_id: h.org.id, external_id: other.customerId }).first('id')).id;
  const expired = signPortalToken(secret, { organizationId: h.org.id, customerId: customerRowId, expiresAt: Math.floor(Date.now() / 1000) - 5 });
  // Tampered: the payload names the other customer, the signature is the original one.
  const [v, , sig] = good.split('.');
  const payload = Buffer.from(JSON.stringify({ o: h.org.id, c: otherRowId, exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url');
  const tampered = `${v}.${payload}.${sig}`;
  // Signed with another key (a forged link).
  const forged = signPortalToken('not-the-secret', { organizationId: h.org.id, customerId: customerRowId, expiresAt: Math.floor(Date.now() / 1000) + 3600 });

  for (const [token, code] of [[expired, 'portal_link_expired'], [tampered, 'portal_link_invalid'], [forged, 'portal_link_invalid'], ['garbage', 'portal_link_invalid']] as const) {
    for (const p of ['/summary', '/invoices', `/invoices/${invoiceId}/file`]) {
      const res = await portalApi(token, 'GET', p);
      expect([p, res.status, res.body.code]).toEqual([p, 403, code]);
      expect(res.body.message).toMatch(code === 'portal_link_expired' ? /has expired/ : /is not valid/);
    }
    expect((await portalApi(token, 'POST', '/top_up_requests', { top_up_request: { amount_cents: 1, request_key: 'z' } })).status).toBe(403);
  }
  expect((await fetch(`${h.api.url}/portal/api/summary`)).status).toBe(403);

  const base = `${h.api.url}/portal#`;
  for (const [viewport, phone, name] of [[DESKTOP, false, 'desktop'], [PHONE, true, 'phone']] as const) {
    const exp = await open(viewport, base + expired, phone);
    expect(await exp.page.locator('#refused').isVisible()).toBe(true);
    expect(await exp.page.textContent('#refused-message')).toContain('This portal link has expired');
    expect(await exp.page.locator('#content').isVisible()).toBe(false);
    await exp.page.screenshot({ path: path.join(ARTIFACTS, `portal-expired-${name}.png`), fullPage: true });
    await exp.context.close();
    const bad = await open(viewport, base + tampered, phone);
    expect(await bad.page.textContent('#refused-message')).toContain('This portal link is not valid');
    expect(await bad.page.locator('#content').isVisible()).toBe(false);
    await bad.context.close();
  }
});

test('wallet balances: the wallets module balances, terminated wallets left out; a top-up request names the wallet', async () => {
  const created = await h.request('POST', '/wallets', { wallet: { external_customer_id: seed.customerId, name: 'Prepaid credits', rate_amount: '1', currency: 'USD', granted_credits: '12345.67' } });
  expect(created.status).toBe(200);
  const w = created.body.wallet;
  const old = await h.request('POST', '/wallets', { wallet: { external_customer_id: seed.customerId, name: 'Old', rate_amount: '1', currency: 'USD', granted_credits: '0.01' } });
  expect((await h.request('DELETE', `/wallets/${old.body.wallet.lago_id}`)).status).toBe(200);
  const url = await portalUrl(seed.customerId);
  const summary = await portalApi(tokenOf(url), 'GET', '/summary');
  validate('PortalSummaryResponse', summary.body);
  expect(summary.body.portal.wallets).toEqual({ available: true, wallets: [{ lago_id: w.lago_id, name: 'Prepaid credits', currency: 'USD', status: 'active', balance_cents: 1234567, credits_balance: '12345.67' }] });
  const { context, page } = await open(PHONE, url, true);
  expect(await page.textContent(`[data-wallet="${w.lago_id}"] [data-testid="wallet-balance"]`)).toBe('USD 12,345.67');
  await page.fill('#top-up-amount', '100');
  await page.click('#top-up-button');
  await page.locator('#top-up-result', { hasText: 'requested' }).waitFor();
  const req = await h.database.db('portal_top_up_requests').where({ organization_id: h.org.id, amount_cents: 10000 }).first();
  expect(req.wallet_id).toBe(w.lago_id);
  await page.screenshot({ path: path.join(ARTIFACTS, 'portal-phone-wallet.png'), fullPage: true });
  await context.close();
});
