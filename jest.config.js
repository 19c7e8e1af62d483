/**
 * Jest: TypeScript through SWC (type checking is `tsc --noEmit` in `npm run lint`). Three kinds of
 * test, each a project: unit (no services), integration (the local stack: PostgreSQL, PgBouncer,
 * Redis, Kafka and the TigerBeetle cluster) and e2e (whole processes, k6, a browser, replica
 * faults). `npm test` runs all three; `npm run test:unit` needs nothing running.
 */
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }],
};

const project = (name, setupFiles) => ({
  displayName: name,
  testEnvironment: 'node',
  roots: [`<rootDir>/test/${name}`],
  testMatch: ['**/*.test.ts'],
  transform,
  setupFiles,
});

// The local TigerBeetle cluster's settings, for every test that uses the stack.
const STACK = ['<rootDir>/test/support/ledger-env.ts'];

module.exports = {
  testTimeout: 60_000,
  projects: [project('unit', []), project('integration', STACK), project('e2e', STACK)],
};
