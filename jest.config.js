/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'jsdom',
  // Defines global Component/Behavior/wx before any import (mobx-miniprogram-bindings calls Behavior() on import).
  setupFiles: ['miniprogram-simulate', '<rootDir>/test/setup.ts'],
  // 'ts' first, so a stray compiled .js next to a source can never be tested instead of it.
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  snapshotSerializers: ['miniprogram-simulate/jest-snapshot-plugin'],
  moduleNameMapper: {
    '^miniprogram-netcall$': '<rootDir>/services/index.ts',
    // The package's other entries (the group session, the NetEase adapter) are its files by path.
    '^miniprogram-netcall/(.*)$': '<rootDir>/$1',
  },
  testTimeout: 30000,
  // Two cores: media tests spawn ffmpeg, so keep workers from starving them.
  maxWorkers: 2,
};
