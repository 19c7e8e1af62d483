/** Jest: TypeScript through SWC (type checking is `tsc --noEmit` in `npm run lint`). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The local TigerBeetle cluster's settings, for every test file (test/support/ledger-env.ts).
  setupFiles: ['<rootDir>/test/support/ledger-env.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }],
  },
  testTimeout: 60_000,
};
