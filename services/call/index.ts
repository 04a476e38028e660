export * from './types';
export * from './media-policy';
export * from './session';
