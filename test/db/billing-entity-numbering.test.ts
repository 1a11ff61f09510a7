// entity13 (issue 13): invoice numbering per billing entity (db/repositories/invoice-numbering.ts) on real Postgres.
// Concurrent finalizations of drafts of three sequences (the default entity's, a second entity's, a per_customer
// entity's customer) give each sequence exactly 1..n, no gap, no duplicate, from its own prefix; the default entity
// keeps the organization's numbers and invoice_sequences row.
import { createBillingEntity, updateBillingEntity } from '../../db/repositories/billing-entities';
import { finalizeInvoice, getInvoice } from '../../db/repositories/invoices';
import { ensureOrganization } from '../../db/repositories/organizations';
import { createCustomer } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('db_ent13');
});
afterAll(async () => {
  await t?.drop();
});

const NOW = new Date('2026-12-01T09:00:00.000Z');

async function drafts(organizationId: string, customerId: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const start = new Date(Date.UTC(2026, 0, 1 + i));
    const [row] = await t.db('invoices')
      .insert({ organization_id: organizationId, customer_id: customerId, invoice_type: 'one_off', status: 'draft', period_start: start, period_end: new Date(start.getTime() + 86_400_000), currency: 'EUR' })
      .returning('id');
    ids.push(row.id);
  }
  return ids;
}

test('concurrent finalizations number each billing entity (and each per_customer customer) 1..n without gaps from its own prefix', async () => {
  const org = await ensureOrganization(t.db, 'acme', 'Acme');
  await createBillingEntity(t.db, org.id, 'acme_eu', { name: 'Acme Europe', timezone: 'Europe/Paris', invoiceGracePeriod: 0, netPaymentTerm: 0, documentNumberPrefix: 'AEU' });
  await createBillingEntity(t.db, org.id, 'acme_jp', { name: 'Acme Japan', timezone: 'Asia/Tokyo', invoiceGracePeriod: 0, netPaymentTerm: 0, documentNumberPrefix: 'AJP' });
  await updateBillingEntity(t.db, org.id, 'acme_jp', { documentNumbering: 'per_customer' });
  const home = await createCustomer(t.db, org.id, { timezone: null });
  const eu = await createCustomer(t.db, org.id, { timezone: null });
  const jp = await createCustomer(t.db, org.id, { timezone: null });
  await t.db('customers').where({ id: eu.id }).update({ billing_entity_code: 'acme_eu' });
  await t.db('customers').where({ id: jp.id }).update({ billing_entity_code: 'acme_jp' });
  const jpSeq = Number((await t.db('customers').where({ id: jp.id }).first('sequential_id')).sequential_id);

  const byEntity = { home: await drafts(org.id, home.id, 8), eu: await drafts(org.id, eu.id, 8), jp: await drafts(org.id, jp.id, 6) };
  // Each draft took its customer's entity when it was inserted (trigger).
  expect((await t.db('invoices').whereIn('id', byEntity.eu).distinct('billing_entity_code')).map((r) => r.billing_entity_code)).toEqual(['acme_eu']);
  const all = [...byEntity.home, ...byEntity.eu, ...byEntity.jp];
  // Interleaved, all at once, some twice (a retried finalization is idempotent).
  const order = all.flatMap((id, i) => (i % 5 === 0 ? [id, id] : [id])).sort((a, b) => a.localeCompare(b));
  await Promise.all(order.map((id) => finalizeInvoice(t.db, org.id, id, { now: NOW })));

  const numbers = async (ids: string[]) => Promise.all(ids.map(async (id) => (await getInvoice(t.db, org.id, id))!.number!));
  const home8 = await numbers(byEntity.home);
  const eu8 = await numbers(byEntity.eu);
  const jp6 = await numbers(byEntity.jp);
  const seqs = (ns: string[]) => ns.map((n) => Number(n.split('-').pop())).sort((a, b) => a - b);
  const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

  // Default entity: the organization's shape and sequence row, as before billing entities (issuing month in UTC).
  for (const n of home8) expect(n).toMatch(/^ACM-202612-00000[1-8]$/);
  expect(seqs(home8)).toEqual(oneTo(8));
  expect(Number((await t.db('invoice_sequences').where({ organization_id: org.id }).first()).last_number)).toBe(8);
  // A second entity: its prefix, the issuing month in its timezone (Paris: still 2026-12), its own sequence.
  for (const n of eu8) expect(n).toMatch(/^AEU-202612-00000[1-8]$/);
  expect(seqs(eu8)).toEqual(oneTo(8));
  // per_customer (Lago's shape): <prefix>-<customer sequential id, 3 digits>-<the customer's invoice sequence, 3 digits>.
  for (const n of jp6) expect(n).toMatch(new RegExp(`^AJP-${String(jpSeq).padStart(3, '0')}-00[1-6]$`));
  expect(seqs(jp6)).toEqual(oneTo(6));
  expect(new Set([...home8, ...eu8, ...jp6]).size).toBe(22);

  // The next finalization continues each sequence (no reset, no reuse).
  const [nextEu] = await drafts(org.id, eu.id, 1);
  expect((await finalizeInvoice(t.db, org.id, nextEu!, { now: NOW })).number).toBe('AEU-202612-000009');
});

test("an entity's timezone sets the issuing date (and month) of its customers without their own timezone", async () => {
  const org = await ensureOrganization(t.db, 'tzco', 'TZ Co');
  await createBillingEntity(t.db, org.id, 'tz_jp', { name: 'TZ Japan', timezone: 'Asia/Tokyo', invoiceGracePeriod: 0, netPaymentTerm: 0, documentNumberPrefix: 'TZJ' });
  const c = await createCustomer(t.db, org.id, { timezone: null });
  await t.db('customers').where({ id: c.id }).update({ billing_entity_code: 'tz_jp' });
  const [id] = await drafts(org.id, c.id, 1);
  // 2026-11-30T20:00Z is already 2026-12-01 in Tokyo (the organization's UTC would say November).
  const f = await finalizeInvoice(t.db, org.id, id!, { now: new Date('2026-11-30T20:00:00.000Z') });
  expect(f).toMatchObject({ issuingDate: '2026-12-01', number: 'TZJ-202612-000001' });
});
