export * from './socket';
export * from './timers';
export * from './media';
