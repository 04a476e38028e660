/**
 * The kit's public entry (`require('miniprogram-netcall')`). Re-exports only; no logic here.
 * It names leaf modules rather than folder indexes, and leaves out what only the server needs (the frame
 * validator) and optional engines (the NetEase adapter: `services/netcall/nim-netcall`), because every
 * module an app reaches is a file it ships, and each CommonJS re-export file carries its own helpers.
 */
export * from './protocol/errors';
export * from './protocol/frames';
export * from './platform/primitives';
export * from './platform/device';
export * from './netcall/netcall';
export type * from './netcall/types';
export * from './media/roster';
export type * from './call/types';
export * from './call/base-session';
export * from './call/session';
export * from './stores/call-store';
export * from './i18n';
