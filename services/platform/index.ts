export * from './socket';
export * from './timers';
export * from './media';
export * from './permissions';
export * from './audio';
export * from './lifecycle';
