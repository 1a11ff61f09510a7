/** Jest: TypeScript through @swc/jest (typescript 7 has no compiler API, so no ts-jest). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 120000,
  // A test that times out can leave a Temporal worker holding native handles; exit once the run (and the
  // global teardown that stops Postgres and the Temporal server) is done rather than hang CI.
  forceExit: true,
};
