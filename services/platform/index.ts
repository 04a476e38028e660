export * from './primitives';
export * from './device';
