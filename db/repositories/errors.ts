// Errors the repositories raise for the API to map (a unique code already taken).

export class DuplicateCodeError extends Error {
  constructor(readonly resource: string, readonly codeValue: string) {
    super(`${resource} with code ${codeValue} already exists`);
    this.name = 'DuplicateCodeError';
  }
}

/** Postgres unique_violation (SQLSTATE 23505). */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === '23505';
}
