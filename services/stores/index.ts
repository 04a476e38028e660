/** mobx-miniprogram stores exposing the media roster to components and pages. */
export * from './call-store';
export * from './session-store';
