// The invoice PDF (pdfkit). Same model → same bytes: the document's CreationDate/ModDate are the invoice's
// issuing date (not the render time), Producer/Creator are fixed, and the file ID pdfkit derives from that info
// is therefore fixed too; no images, no random ids. Font: Helvetica, the standard font whose metrics ship in the
// pdfkit package (AFM); a standard-14 font is not embedded, every PDF reader provides it (WinAnsi: Latin
// scripts and €; names in other scripts would need an embedded TrueType font — not done).
import { A4, BOLD, FONT, GREY, LINE, MARGIN, metaBlock, openPdf, pageFooters, partyBlock, totalsColumn } from './pdf-page';
import { minorUnitsToDecimalString } from '../billing/money';
import type { InvoiceDocumentModel } from './invoice-model';


// Table columns (x offset from the left margin, width).
const COLS = {
  description: { x: 0, w: 150 },
  period: { x: 155, w: 100 },
  units: { x: 260, w: 60 },
  unitPrice: { x: 325, w: 100 },
  amount: { x: 430, w: 65.28 },
};

/** 123456 USD → "1,234.56 USD"; −5 JPY → "-5 JPY". */
export function formatMoney(cents: number, currency: string): string {
  const s = minorUnitsToDecimalString(cents, currency);
  const neg = s.startsWith('-');
  const [int, frac] = (neg ? s.slice(1) : s).split('.');
  const grouped = int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${neg ? '-' : ''}${grouped}${frac !== undefined ? `.${frac}` : ''} ${currency}`;
}

function fxNote(m: InvoiceDocumentModel): string | null {
  if (!m.fx) return null;
  const source = m.fx.source === 'ecb' ? 'ECB euro foreign exchange reference rate' : m.fx.source === 'manual' ? 'rate entered by the seller' : m.fx.source;
  return (
    `Prices are set in ${m.fx.priceCurrency} and invoiced in ${m.currency} at 1 ${m.fx.priceCurrency} = ${m.fx.rate} ${m.currency} ` +
    `(${source} of ${m.fx.rateDate}); each line is converted and rounded once to the ${m.currency} minor unit, totals are sums of lines.`
  );
}

export function fxNoteText(m: InvoiceDocumentModel): string | null {
  return fxNote(m);
}

/** Renders the invoice; resolves with the whole PDF. */
export function renderInvoicePdf(m: InvoiceDocumentModel): Promise<Buffer> {
  const { doc, done } = openPdf({ title: `Invoice ${m.number}`, subject: `Invoice ${m.number} for ${m.buyer.name}`, author: m.seller.name, issuingDate: m.issuingDate });

  const left = MARGIN;
  const width = A4.width - 2 * MARGIN;

  // Header.
  doc.font(BOLD).fontSize(20).fillColor('black').text('Invoice', left, MARGIN);
  // (A grey fill set once more before the rows: the invoice's bytes as they have always been.)
  doc.fillColor(GREY);
  let y = metaBlock(doc, [
    ['Number', m.number],
    ['Issuing date', m.issuingDate],
    ['Billing period', `${m.periodFrom} to ${m.periodTo}`],
    ['Currency', m.currency],
  ]);

  // Parties.
  y = Math.max(y, MARGIN + 40) + 20;
  y = Math.max(partyBlock(doc, 'From', m.seller, left, y), partyBlock(doc, 'Bill to', m.buyer, left + 270, y)) + 24;

  // Lines.
  const header = (hy: number) => {
    doc.font(BOLD).fontSize(8).fillColor(GREY);
    doc.text('DESCRIPTION', left + COLS.description.x, hy, { width: COLS.description.w });
    doc.text('PERIOD', left + COLS.period.x, hy, { width: COLS.period.w });
    doc.text('UNITS', left + COLS.units.x, hy, { width: COLS.units.w, align: 'right' });
    doc.text('UNIT PRICE', left + COLS.unitPrice.x, hy, { width: COLS.unitPrice.w, align: 'right' });
    doc.text(`AMOUNT (${m.currency})`, left + COLS.amount.x, hy, { width: COLS.amount.w, align: 'right' });
    doc.moveTo(left, hy + 12).lineTo(left + width, hy + 12).strokeColor(LINE).lineWidth(0.5).stroke();
    return hy + 18;
  };
  y = header(y);
  for (const line of m.lines) {
    doc.font(FONT).fontSize(9);
    const h = Math.max(doc.heightOfString(line.description, { width: COLS.description.w }), 11);
    if (y + h > A4.height - MARGIN - 40) {
      doc.addPage();
      y = header(MARGIN);
    }
    doc.font(FONT).fontSize(9).fillColor('black');
    doc.text(line.description, left + COLS.description.x, y, { width: COLS.description.w });
    doc.fontSize(8).text(line.fromDate === line.toDate ? line.fromDate : `${line.fromDate} to ${line.toDate}`, left + COLS.period.x, y + 1, { width: COLS.period.w });
    doc.fontSize(9).text(line.units, left + COLS.units.x, y, { width: COLS.units.w, align: 'right' });
    doc.fontSize(8).text(line.unitAmount, left + COLS.unitPrice.x, y + 1, { width: COLS.unitPrice.w, align: 'right' });
    doc.fontSize(9);
    doc.text(minorUnitsToDecimalString(line.amountCents, m.currency), left + COLS.amount.x, y, { width: COLS.amount.w, align: 'right' });
    y += h + 6;
    doc.moveTo(left, y - 3).lineTo(left + width, y - 3).strokeColor('#eeeeee').lineWidth(0.5).stroke();
  }

  // Totals.
  if (y > A4.height - MARGIN - 220) {
    doc.addPage();
    y = MARGIN;
  }
  y += 10;
  const totals = totalsColumn(doc, y);
  const { row } = totals;
  row('Subtotal (fees)', formatMoney(m.feesAmountCents, m.currency));
  if (m.discounts.length === 0) row('Discounts', formatMoney(0, m.currency));
  for (const d of m.discounts) row(`Discount: ${d.description}`, formatMoney(-Math.abs(d.amountCents), m.currency));
  if (m.taxes.length === 0) row('Tax (0%)', formatMoney(0, m.currency));
  for (const t of m.taxes) {
    const base = t.baseAmountCents === undefined ? '' : ` on ${formatMoney(t.baseAmountCents, m.currency)}`;
    row(`${t.name} (${t.rate}%)${base}`, formatMoney(t.amountCents, m.currency));
  }
  row('Total taxes', formatMoney(m.taxesAmountCents, m.currency));
  totals.rule();
  row('Total due', formatMoney(m.totalAmountCents, m.currency), true);
  y = totals.y();

  // Notes.
  y += 18;
  doc.font(FONT).fontSize(8.5).fillColor('black');
  for (const note of [m.reverseChargeMention, fxNote(m), m.footer ?? null]) {
    if (!note) continue;
    doc.text(note, left, y, { width });
    y = doc.y + 8;
  }

  // Footer on every page.
  pageFooters(doc, (page, pages) => `${m.seller.name} · Invoice ${m.number} · page ${page} of ${pages}`);
  doc.end();
  return done;
}
