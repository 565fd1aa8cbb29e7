// End-to-end tests: each runs real Nx commands in a temporary copy of the workspace.
module.exports = { ...require('../jest.preset.js'), testMatch: ['<rootDir>/**/*.test.ts'], testTimeout: 600000 };
