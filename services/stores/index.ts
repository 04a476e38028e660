/** mobx-miniprogram stores exposing the roster and the session to components and pages. */
export * from './call-store';
