/**
 * The kit's public entry (`require('miniprogram-netcall')`). Re-exports only; no logic here.
 */
export * from './protocol';
export * from './platform';
export * from './netcall';
export * from './media';
export * from './call';
export * from './stores';
export * from './i18n';
