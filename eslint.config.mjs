import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'miniprogram_dist/**',
      'coverage/**',
      '**/*.js',
      '!eslint.config.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-globals': 'off',
    },
  },
  {
    // Layer rule: only services/platform/ may touch `wx`.
    files: ['services/**/*.ts', 'components/**/*.ts'],
    ignores: ['services/platform/**'],
    rules: {
      'no-restricted-globals': ['error', { name: 'wx', message: 'Only services/platform/ may use wx.' }],
    },
  },
);
