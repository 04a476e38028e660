export * from './types';
export * from './base-session';
export * from './session';
