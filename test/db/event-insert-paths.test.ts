// Since migration 20261201002000 the events' dedup lives in the writers' statement (db/repositories/events.ts:
// keys inserted set-based into event_transaction_ids, the events joined to the keys that were new), not in a
// trigger: a plain INSERT INTO events would store a second event for a known transaction id. This test reads
// every TypeScript / SQL source of the repository and fails when anything but the events repository (and the
// migrations that move the table) inserts into `events`: app, scripts, benches and tests all go through
// insertEvents / insertEventsWithRollups / insertEventsSelect. A line marked `insert-path-ok: <reason>` (on
// it or up to 3 lines above) is allowed: the table's pre-partitioning shape in the migration test, and the old
// statement bench:event-writer measures against the old trigger.
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const ALLOWED_FILES = new Set(['db/repositories/events.ts']);
const ALLOWED_DIRS = ['db/migrations/'];
const SKIP_DIRS = new Set(['node_modules', '.git', '.venv', 'dist', 'coverage']);

/** Ways to write rows into `events` (SQL in any case, knex builders). */
const PATTERNS: RegExp[] = [
  /\binsert\s+into\s+(?:public\.)?"?events"?(?:\s|\(|$)/i,
  /\bcopy\s+(?:public\.)?"?events"?(?:\s|\(|$)/i,
  /\(\s*['"`]events['"`]\s*\)\s*\.\s*insert\s*\(/,
  /\.into\s*\(\s*['"`]events['"`]\s*\)/,
  /\.(?:table|from)\s*\(\s*['"`]events['"`]\s*\)\s*\.\s*insert\s*\(/,
];

function sources(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) sources(path.join(dir, e.name), out);
    } else if (/\.(ts|js|mjs|cjs|sql)$/.test(e.name)) {
      out.push(path.join(dir, e.name));
    }
  }
  return out;
}

export function directEventInserts(text: string): number[] {
  const lines = text.split('\n');
  const hits: number[] = [];
  lines.forEach((line, i) => {
    if (!PATTERNS.some((p) => p.test(line))) return;
    if (lines.slice(Math.max(0, i - 3), i + 1).some((l) => l.includes('insert-path-ok:'))) return;
    hits.push(i + 1);
  });
  return hits;
}

describe('every insert into events goes through db/repositories/events.ts (the dedup is in its statement)', () => {
  test('the detector finds a plain INSERT, a knex insert and a COPY, and ignores the event tables with longer names', () => {
    expect(directEventInserts('await db.raw(`INSERT INTO events (organization_id) VALUES (?)`)')).toEqual([1]);
    expect(directEventInserts("x\nawait db('events').insert(rows)")).toEqual([2]);
    expect(directEventInserts("await db.insert(row).into('events')")).toEqual([1]);
    expect(directEventInserts('COPY events FROM STDIN')).toEqual([1]);
    expect(directEventInserts("INSERT INTO event_transaction_ids (a) VALUES (1)\nINSERT INTO events_default VALUES (1)\ndb('event_errors').insert(r)")).toEqual([]);
    expect(directEventInserts("// insert-path-ok: the old table\nINSERT INTO events (a) VALUES (1)")).toEqual([]);
    expect(directEventInserts("// insert-path-ok: far\n1\n2\n3\nINSERT INTO events (a) VALUES (1)")).toEqual([5]);
  });

  test('no source file outside the events repository and the migrations inserts into events', () => {
    const offenders: string[] = [];
    for (const file of sources(ROOT)) {
      const rel = path.relative(ROOT, file).split(path.sep).join('/');
      if (ALLOWED_FILES.has(rel) || ALLOWED_DIRS.some((d) => rel.startsWith(d)) || rel === 'test/db/event-insert-paths.test.ts') continue;
      for (const line of directEventInserts(fs.readFileSync(file, 'utf8'))) offenders.push(`${rel}:${line}`);
    }
    expect(offenders).toEqual([]);
  });
});
