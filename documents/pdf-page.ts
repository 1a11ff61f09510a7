// The page both Meterline PDFs (invoice, credit note) are drawn on: A4, Helvetica (a standard-14 font whose metrics
// ship with pdfkit, never embedded), one greyscale palette, and fixed document info so that the same model always
// gives the same bytes: CreationDate/ModDate are the document's issuing date, Producer/Creator are fixed, and the
// file ID pdfkit derives from that info is fixed too.
import PDFDocument from 'pdfkit';

export const A4 = { width: 595.28, height: 841.89 };
export const MARGIN = 50;
export const FONT = 'Helvetica';
export const BOLD = 'Helvetica-Bold';
export const GREY = '#555555';
export const LINE = '#cccccc';

export interface PdfInfo {
  title: string;
  subject: string;
  author: string;
  /** YYYY-MM-DD: the document's date, used as its creation and modification date. */
  issuingDate: string;
}

/** A new A4 document and the promise of its whole bytes once `doc.end()` is called. */
export function openPdf(info: PdfInfo): { doc: PDFKit.PDFDocument; done: Promise<Buffer> } {
  const fixedDate = new Date(`${info.issuingDate}T00:00:00.000Z`);
  const doc = new PDFDocument({
    size: [A4.width, A4.height],
    margin: MARGIN,
    bufferPages: true,
    compress: true,
    font: FONT,
    info: {
      Title: info.title,
      Author: info.author,
      Subject: info.subject,
      Producer: 'Meterline',
      Creator: 'Meterline',
      CreationDate: fixedDate,
      ModDate: fixedDate,
    },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  return { doc, done };
}

/**
 * The header's metadata block at the right of the title, from the top margin: one row a pair, the label in grey
 * and the value in bold (10 pt). Returns the y under the last row.
 */
export function metaBlock(doc: PDFKit.PDFDocument, rows: readonly (readonly [string, string])[]): number {
  const left = MARGIN;
  const width = A4.width - 2 * MARGIN;
  let y = MARGIN + 4;
  for (const [label, value] of rows) {
    doc.font(FONT).fontSize(10).fillColor(GREY).text(label, left + 260, y, { width: 80 });
    doc.font(BOLD).fillColor('black').text(value, left + 340, y, { width: width - 340 });
    y = doc.y + 3;
  }
  return y;
}

/** A party (seller, buyer) at `x` from `y`: the title in small grey capitals, the name in bold, then its lines. Returns the y under it. */
export function partyBlock(doc: PDFKit.PDFDocument, title: string, party: { name: string; lines: readonly string[] }, x: number, y: number): number {
  let py = y;
  doc.font(FONT).fontSize(8).fillColor(GREY).text(title.toUpperCase(), x, py, { width: 230 });
  py += 12;
  doc.font(BOLD).fontSize(11).fillColor('black').text(party.name, x, py, { width: 230 });
  py = doc.y + 2;
  doc.font(FONT).fontSize(9).fillColor('black');
  for (const l of party.lines) {
    doc.text(l, x, py, { width: 230 });
    py = doc.y + 1;
  }
  return py;
}

/**
 * The totals column at the right of the page, from `startY` down: `row` prints a label and its amount, `rule` a
 * line under the rows so far; `y()` is where the next thing goes.
 */
export function totalsColumn(doc: PDFKit.PDFDocument, startY: number) {
  let y = startY;
  const left = MARGIN;
  const width = A4.width - 2 * MARGIN;
  // Wide enough for a tax row's "name (rate%) on base" on one line.
  const tx = left + 180;
  const tw = width - 180;
  return {
    row(label: string, value: string, bold = false): void {
      doc.font(bold ? BOLD : FONT).fontSize(bold ? 11 : 9).fillColor('black');
      doc.text(label, tx, y, { width: tw - 110 });
      doc.text(value, tx + tw - 110, y, { width: 110, align: 'right' });
      y = doc.y + 4;
    },
    rule(): void {
      doc.moveTo(tx, y).lineTo(left + width, y).strokeColor('black').lineWidth(0.8).stroke();
      y += 6;
    },
    gap(dy: number): void {
      y += dy;
    },
    y: () => y,
  };
}

/** A footer line on every page (`text(page, pages)`), inside the bottom margin so that it never breaks a page. */
export function pageFooters(doc: PDFKit.PDFDocument, text: (page: number, pages: number) => string): void {
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    doc.page.margins.bottom = 0;
    doc.font(FONT).fontSize(7.5).fillColor(GREY);
    doc.text(text(i - range.start + 1, range.count), MARGIN, A4.height - MARGIN + 10, { width: A4.width - 2 * MARGIN, align: 'center', lineBreak: false });
  }
}
