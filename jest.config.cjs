/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // Examples import the package by name, as an app would.
    '^rxpeer$': '<rootDir>/src/index.ts',
    '^rxpeer/(server|bridge)$': '<rootDir>/src/$1/index.ts',
  },
  testTimeout: 30000,
  globalSetup: '<rootDir>/spec/helpers/globalSetup.cjs',
  // Real servers and engines: keep the machine's two cores from thrashing.
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/spec/helpers/summaryReporter.cjs'],
};
