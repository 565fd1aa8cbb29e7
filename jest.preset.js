// Shared jest settings: TypeScript through swc (no type-check here; `typecheck` targets do that),
// tests live beside the code as *.test.ts.
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/src/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  testTimeout: 120000,
  reporters: ['default', require.resolve('./tools/test/results-reporter.js')],
};
