export * from './errors';
export * from './frames';
export * from './validate';
