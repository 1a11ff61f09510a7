// The credit-note PDF (pdfkit), laid out like the invoice PDF (documents/invoice-pdf.ts) and with its money
// format (formatMoney: grouped thousands, the currency's minor unit, the ISO code). Same model → same bytes:
// CreationDate/ModDate are the credit note's issuing date, Producer/Creator fixed, no images, no random ids.
// It prints the number, the invoice it corrects, the reason, every item (the credited fee and amount), the
// coupons adjustment, one row per tax (rate, base, amount), the total, and how the total is settled: credited to
// the customer's balance, refunded, offset against the invoice's unpaid amount.
import { A4, BOLD, FONT, GREY, LINE, MARGIN, metaBlock, openPdf, pageFooters, partyBlock, totalsColumn } from './pdf-page';
import { minorUnitsToDecimalString } from '../billing/money';
import type { PartyBlock } from './invoice-model';
import { formatMoney } from './invoice-pdf';

export interface CreditNoteDocumentModel {
  number: string;
  issuingDate: string;
  invoiceNumber: string;
  currency: string;
  reason: string;
  description: string | null;
  seller: PartyBlock;
  buyer: PartyBlock;
  /** One row per item: the credited fee's name and the credited amount (before coupons and taxes). */
  items: { description: string; amountCents: number }[];
  couponsAdjustmentAmountCents: number;
  subTotalExcludingTaxesAmountCents: number;
  taxes: { name: string; rate: string; baseAmountCents: number; amountCents: number }[];
  taxesAmountCents: number;
  totalAmountCents: number;
  creditAmountCents: number;
  refundAmountCents: number;
  offsetAmountCents: number;
}


/** Lago's reason codes as words ("order_change" → "Order change"). */
export function reasonText(reason: string): string {
  const s = reason.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function renderCreditNotePdf(m: CreditNoteDocumentModel): Promise<Buffer> {
  const { doc, done } = openPdf({ title: `Credit note ${m.number}`, subject: `Credit note ${m.number} on invoice ${m.invoiceNumber} for ${m.buyer.name}`, author: m.seller.name, issuingDate: m.issuingDate });
  const left = MARGIN;
  const width = A4.width - 2 * MARGIN;

  doc.font(BOLD).fontSize(20).fillColor('black').text('Credit note', left, MARGIN);
  let y = metaBlock(doc, [
    ['Number', m.number],
    ['Issuing date', m.issuingDate],
    ['Invoice', m.invoiceNumber],
    ['Reason', reasonText(m.reason)],
    ['Currency', m.currency],
  ]);

  y = Math.max(y, MARGIN + 40) + 20;
  y = Math.max(partyBlock(doc, 'From', m.seller, left, y), partyBlock(doc, 'Credited to', m.buyer, left + 270, y)) + 16;
  if (m.description) {
    doc.font(FONT).fontSize(9).fillColor('black').text(m.description, left, y, { width });
    y = doc.y + 12;
  }

  const header = (hy: number) => {
    doc.font(BOLD).fontSize(8).fillColor(GREY);
    doc.text('CREDITED ITEM', left, hy, { width: 350 });
    doc.text(`AMOUNT (${m.currency})`, left + 380, hy, { width: width - 380, align: 'right' });
    doc.moveTo(left, hy + 12).lineTo(left + width, hy + 12).strokeColor(LINE).lineWidth(0.5).stroke();
    return hy + 18;
  };
  y = header(y);
  for (const item of m.items) {
    doc.font(FONT).fontSize(9);
    const h = Math.max(doc.heightOfString(item.description, { width: 350 }), 11);
    if (y + h > A4.height - MARGIN - 40) {
      doc.addPage();
      y = header(MARGIN);
    }
    doc.font(FONT).fontSize(9).fillColor('black');
    doc.text(item.description, left, y, { width: 350 });
    doc.text(minorUnitsToDecimalString(item.amountCents, m.currency), left + 380, y, { width: width - 380, align: 'right' });
    y += h + 6;
    doc.moveTo(left, y - 3).lineTo(left + width, y - 3).strokeColor('#eeeeee').lineWidth(0.5).stroke();
  }

  if (y > A4.height - MARGIN - 260) {
    doc.addPage();
    y = MARGIN;
  }
  y += 10;
  const totals = totalsColumn(doc, y);
  const { row } = totals;
  const itemsCents = m.items.reduce((a, i) => a + i.amountCents, 0);
  row('Credited items', formatMoney(itemsCents, m.currency));
  if (m.couponsAdjustmentAmountCents !== 0) row('Coupons adjustment', formatMoney(-m.couponsAdjustmentAmountCents, m.currency));
  row('Subtotal excluding taxes', formatMoney(m.subTotalExcludingTaxesAmountCents, m.currency));
  if (m.taxes.length === 0) row('Tax (0%)', formatMoney(0, m.currency));
  for (const t of m.taxes) row(`${t.name} (${t.rate}%) on ${formatMoney(t.baseAmountCents, m.currency)}`, formatMoney(t.amountCents, m.currency));
  row('Total taxes', formatMoney(m.taxesAmountCents, m.currency));
  totals.rule();
  row('Total credited', formatMoney(m.totalAmountCents, m.currency), true);
  totals.gap(10);
  row('Credited to the customer balance', formatMoney(m.creditAmountCents, m.currency));
  row('Refunded', formatMoney(m.refundAmountCents, m.currency));
  row('Offset against the invoice', formatMoney(m.offsetAmountCents, m.currency));

  pageFooters(doc, (page, pages) => `${m.seller.name} · Credit note ${m.number} · page ${page} of ${pages}`);
  doc.end();
  return done;
}
