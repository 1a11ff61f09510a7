import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../activities';
import { FileDocumentStore } from '../../documents/storage';
import { createBillingSetup } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

const NOV = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meterline-act-doc-'));
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('act_doc');
});
afterAll(async () => {
  await t.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('generateInvoicePdf: a draft is a non-retryable is_draft; a finalized invoice gets one stored PDF, the same on a retry', async () => {
  const s = await createBillingSetup(t.db, { planAmountCents: 2000, metrics: [], charges: () => [] });
  const store = new FileDocumentStore(dir);
  const activities = createActivities({ db: t.db, documentStore: store });
  const inv = await activities.createPeriodInvoice({ organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period: NOV, fullPeriod: NOV });
  const ref = { organizationId: s.org.id, invoiceId: inv.invoiceId };

  const err = await activities.generateInvoicePdf(ref).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: 'is_draft', nonRetryable: true });

  await activities.finalizeInvoice(ref);
  const first = await activities.generateInvoicePdf(ref);
  const again = await activities.generateInvoicePdf(ref);
  expect(again).toEqual(first);
  const bytes = await store.get(first.storageKey);
  expect(bytes!.length).toBe(first.byteSize);
  expect(bytes!.subarray(0, 5).toString()).toBe('%PDF-');
  expect(await t.db('invoice_documents').where({ invoice_id: inv.invoiceId }).count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 1 }]);
});
