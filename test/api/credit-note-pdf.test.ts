// Credit-note PDFs over HTTP: POST /credit_notes/:id/download answers the credit note with its file_url, the file
// is served (authenticated, scoped to the organization) from that URL, and its text (pdftotext) says what the credit
// note says — number, the invoice it corrects, the credited item, the tax row, the total and its credit / refund /
// offset split, amounts formatted as on the invoice PDF; rendering the same note twice gives the same bytes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApiKey, ensureOrganization } from '../../db/repositories/organizations';
import { renderStoredCreditNote } from '../../documents/credit-note-document';
import { startApiHarness, type ApiHarness } from './harness';
import { pdfText as pdfTextOf } from '../support/pdf-text';

const DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'meterline-cn-pdf-'));
let h: ApiHarness;
let note: any;
let invoice: any;

function pdfText(bytes: Buffer): string {
  return pdfTextOf(bytes, DATA_DIR);
}

beforeAll(async () => {
  process.env.METERLINE_DATA_DIR = DATA_DIR;
  h = await startApiHarness({ prefix: 'api_cn_pdf' });
  expect((await h.request('POST', '/taxes', { tax: { name: 'VAT', code: 'vat', rate: '20' } })).status).toBe(200);
  expect((await h.request('POST', '/customers', { customer: { external_id: 'cn-pdf', name: 'Globex Corporation', email: 'billing@globex.example', currency: 'USD' } })).status).toBe(200);
  expect((await h.request('POST', '/add_ons', { add_on: { name: 'GPU-hour pack', code: 'gpu_pack', amount_cents: 150_000, amount_currency: 'USD', tax_codes: ['vat'] } })).status).toBe(200);
  const inv = await h.request('POST', '/invoices', { invoice: { external_customer_id: 'cn-pdf', fees: [{ add_on_code: 'gpu_pack', units: '1' }] } });
  expect(inv.status).toBe(200);
  invoice = inv.body.invoice;
  expect(invoice.total_amount_cents).toBe(180_000);
  // 1,000.00 paid by wire: refundable up to 1,000.00, 800.00 still due (offsettable).
  expect((await h.request('POST', '/payments', { payment: { invoice_id: invoice.lago_id, amount_cents: 100_000, reference: 'wire-1' } })).status).toBe(200);
  // 1,000.00 of the fee + 20 % = 1,200.00: 600.00 credited, 400.00 refunded, 200.00 offset.
  const res = await h.request('POST', '/credit_notes', { credit_note: {
    invoice_id: invoice.lago_id, reason: 'order_change', description: 'Unused GPU hours returned',
    credit_amount_cents: 60_000, refund_amount_cents: 40_000, offset_amount_cents: 20_000,
    items: [{ fee_id: invoice.fees[0].lago_id, amount_cents: 100_000 }],
  } });
  expect(res.status).toBe(200);
  note = res.body.credit_note;
});
afterAll(async () => {
  await h?.stop();
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
});

it('a credit note has no file_url before its PDF exists', async () => {
  expect(note.file_url).toBeNull();
  expect((await h.request('GET', `/credit_notes/${note.lago_id}`)).body.credit_note.file_url).toBeNull();
});

it('POST /credit_notes/:id/download answers the credit note with its file_url; GET and the list show it from then on', async () => {
  const res = await h.request('POST', `/credit_notes/${note.lago_id}/download`);
  expect(res.status).toBe(200);
  expect(res.body.credit_note).toMatchObject({ lago_id: note.lago_id, number: note.number, total_amount_cents: 120_000 });
  expect(res.body.credit_note.file_url).toBe(`${h.api.url}/api/v1/credit_notes/${note.lago_id}/file`);
  expect((await h.request('GET', `/credit_notes/${note.lago_id}`)).body.credit_note.file_url).toBe(res.body.credit_note.file_url);
  const list = await h.request('GET', '/credit_notes?external_customer_id=cn-pdf');
  expect(list.body.credit_notes.map((n: any) => n.file_url)).toEqual([res.body.credit_note.file_url]);
  // Rendered and recorded once, however often it is downloaded.
  expect((await h.request('POST', `/credit_notes/${note.lago_id}/download`)).status).toBe(200);
  expect(await h.database.db('credit_note_documents').where({ credit_note_id: note.lago_id })).toHaveLength(1);
});

it("the file's text shows the number, the invoice, the item, the tax, the total and the credit / refund / offset split", async () => {
  const res = await fetch(`${h.api.url}/api/v1/credit_notes/${note.lago_id}/file`, { headers: { authorization: `Bearer ${h.apiKey}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/pdf');
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
  const text = pdfText(bytes);
  const lines = text.split('\n').map((l) => l.replace(/\s+/g, ' ').trim());
  expect(text).toContain('Credit note');
  expect(text).toContain(note.number);
  expect(text).toContain(invoice.number);
  expect(text).toContain('Order change');
  expect(text).toContain('Globex Corporation');
  expect(text).toContain('Unused GPU hours returned');
  expect(lines).toContain('GPU-hour pack 1000.00');
  expect(lines).toContain('Subtotal excluding taxes 1,000.00 USD');
  expect(lines).toContain('VAT (20%) on 1,000.00 USD 200.00 USD');
  expect(lines).toContain('Total taxes 200.00 USD');
  expect(lines).toContain('Total credited 1,200.00 USD');
  expect(lines).toContain('Credited to the customer balance 600.00 USD');
  expect(lines).toContain('Refunded 400.00 USD');
  expect(lines).toContain('Offset against the invoice 200.00 USD');
});

it('the same credit note renders to the same bytes (the stored file is what a new render gives)', async () => {
  const stored = await fetch(`${h.api.url}/api/v1/credit_notes/${note.lago_id}/file`, { headers: { authorization: `Bearer ${h.apiKey}` } });
  const again = await renderStoredCreditNote(h.database.db, h.org.id, note.lago_id);
  expect(Buffer.compare(Buffer.from(await stored.arrayBuffer()), again.pdf)).toBe(0);
});

it("another organization's key gets 404 for the download and the file; an unknown id is 404 credit_note_not_found", async () => {
  const other = await ensureOrganization(h.database.db, 'cn-pdf-other', 'Other');
  const key = await createApiKey(h.database.db, other.id);
  for (const [method, p] of [['POST', 'download'], ['GET', 'file']] as const) {
    const res = await fetch(`${h.api.url}/api/v1/credit_notes/${note.lago_id}/${p}`, { method, headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(404);
  }
  const unknown = await h.request('POST', '/credit_notes/00000000-0000-4000-8000-000000000000/download');
  expect([unknown.status, unknown.body.code]).toEqual([404, 'credit_note_not_found']);
});
