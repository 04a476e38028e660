export * from './emitter';
export * from './types';
export * from './netcall';
