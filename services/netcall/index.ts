export * from './netcall';
export * from './types';
