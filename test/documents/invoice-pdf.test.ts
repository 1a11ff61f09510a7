import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatMoney, renderInvoicePdf } from '../../documents/invoice-pdf';
import { FileDocumentStore } from '../../documents/storage';
import { sampleModel } from './sample-model';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meterline-doc-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function text(pdf: Buffer): string {
  const f = path.join(dir, `t-${Math.random().toString(36).slice(2)}.pdf`);
  fs.writeFileSync(f, pdf);
  return execFileSync('pdftotext', ['-layout', f, '-'], { encoding: 'utf8' });
}

describe('renderInvoicePdf', () => {
  it('the same model renders to identical bytes; a one-cent change renders differently', async () => {
    const a = await renderInvoicePdf(sampleModel());
    const b = await renderInvoicePdf(sampleModel());
    expect(a.equals(b)).toBe(true);
    const c = await renderInvoicePdf(sampleModel({ totalAmountCents: 25303 }));
    expect(c.equals(a)).toBe(false);
  });

  it('fixes the metadata: creation date = issuing date, Meterline as producer', async () => {
    const pdf = await renderInvoicePdf(sampleModel());
    const f = path.join(dir, 'meta.pdf');
    fs.writeFileSync(f, pdf);
    const info = execFileSync('pdfinfo', [f], { encoding: 'utf8' });
    expect(info).toMatch(/Producer:\s+Meterline/);
    expect(info).toMatch(/Title:\s+Invoice ACM-202612-000042/);
    expect(info).toMatch(/CreationDate:.*2026/);
  });

  it('prints the tax breakdown, the reverse-charge mention, discounts and the FX note', async () => {
    const t = text(
      await renderInvoicePdf(sampleModel({ discounts: [{ description: 'WELCOME10', amountCents: 1000 }], totalAmountCents: 24302 })),
    );
    expect(t).toContain('VAT reverse charge (0%)');
    expect(t).toContain('Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC).');
    expect(t).toContain('Discount: WELCOME10');
    expect(t).toContain('-10.00 EUR');
    expect(t).toContain('243.02 EUR');
    expect(t).toContain('1 USD = 0.94679038061 EUR');
  });

  it('without FX and taxes: no FX note, a Tax (0%) row', async () => {
    const t = text(await renderInvoicePdf(sampleModel({ fx: null, taxes: [], reverseChargeMention: null })));
    expect(t).not.toContain('Prices are set in');
    expect(t).toContain('Tax (0%)');
  });

  it('many lines flow onto further pages, each numbered', async () => {
    const line = sampleModel().lines[1]!;
    const t = text(await renderInvoicePdf(sampleModel({ lines: Array.from({ length: 80 }, (_, i) => ({ ...line, description: `Line ${i + 1}` })) })));
    expect(t).toContain('Line 80');
    expect(t).toMatch(/page 1 of [2-9]/);
    expect(t).toMatch(/page ([2-9]) of \1/);
  });

  it.each([
    [123456, 'USD', '1,234.56 USD'],
    [-5, 'JPY', '-5 JPY'],
    [1234567, 'KWD', '1,234.567 KWD'],
    [0, 'EUR', '0.00 EUR'],
  ])('formatMoney(%i, %s) = %s', (cents, cur, out) => {
    expect(formatMoney(cents, cur)).toBe(out);
  });
});

describe('FileDocumentStore', () => {
  it('stores and reads back bytes; a missing key is null; keys cannot escape the folder', async () => {
    const store = new FileDocumentStore(path.join(dir, 'store'));
    await store.put('invoices/org/abc.pdf', Buffer.from('%PDF-1'));
    expect((await store.get('invoices/org/abc.pdf'))!.toString()).toBe('%PDF-1');
    expect(await store.get('invoices/org/missing.pdf')).toBeNull();
    await expect(store.put('../escape.pdf', Buffer.from('x'))).rejects.toThrow(/Invalid document key/);
  });
});
