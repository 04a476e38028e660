export * from './types';
export * from './media-policy';
export * from './base-session';
export * from './session';
