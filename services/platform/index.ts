export * from './primitives';
export * from './permissions';
export * from './audio';
export * from './lifecycle';
