/** Media layer: the roster of the RTC session and the URL each member binds to. */
export * from './roster';
