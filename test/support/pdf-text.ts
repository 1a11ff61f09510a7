// A PDF's text as pdftotext (poppler) lays it out, for tests that read what a rendered document says.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Writes the bytes to a fresh file under `dir` and returns `pdftotext -layout` of it. */
export function pdfText(bytes: Buffer, dir: string): string {
  const file = path.join(dir, `check-${process.hrtime.bigint()}.pdf`);
  fs.writeFileSync(file, bytes);
  return execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
}
