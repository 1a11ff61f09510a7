// Where rendered documents live: a port with a data-folder adapter (default, under METERLINE_DATA_DIR) and
// room for an object store (S3/GCS: put = PutObject with the same key, get = GetObject; keys are stable).
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface DocumentStore {
  /** Writes the bytes under the key (overwriting with the same bytes is harmless: keys are per invoice). */
  put(key: string, bytes: Buffer): Promise<void>;
  /** The bytes, or null when nothing is stored under the key. */
  get(key: string): Promise<Buffer | null>;
}

const KEY_RE = /^[a-z0-9][a-z0-9_-]*(?:\/[a-z0-9][a-z0-9_-]*)*\.pdf$/;

export function assertDocumentKey(key: string): void {
  if (!KEY_RE.test(key)) throw new Error(`Invalid document key: ${key}`);
}

/** Files under `<root>/`; a write goes to a temporary file first and is renamed into place (atomic). */
export class FileDocumentStore implements DocumentStore {
  constructor(readonly root: string) {}

  private pathOf(key: string): string {
    assertDocumentKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, bytes: Buffer): Promise<void> {
    const file = this.pathOf(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    await fs.writeFile(tmp, bytes);
    await fs.rename(tmp, file);
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await fs.readFile(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }
}

/** The default store: `<METERLINE_DATA_DIR>/documents` (METERLINE_DATA_DIR defaults to the repository's .data). */
export function defaultDocumentStore(env: NodeJS.ProcessEnv = process.env): DocumentStore {
  const dataDir = env.METERLINE_DATA_DIR ?? path.resolve(__dirname, '..', '.data');
  return new FileDocumentStore(path.join(dataDir, 'documents'));
}
