export * from './primitives';
export * from './device';
export * from './privacy';
