/** @type {import('jest').Config} */
module.exports = {
  // Like 'node', and a spec file that leaves a socket, server or timer open fails.
  testEnvironment: '<rootDir>/spec/helpers/leakCheckEnvironment.cjs',
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
  // Leaks fail their spec file (see leakCheckEnvironment.cjs); after that, a leaked
  // handle must not hold the run open until CI's time runs out.
  forceExit: true,
  // Real servers and engines: keep the machine's two cores from thrashing.
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/spec/helpers/summaryReporter.cjs'],
};
