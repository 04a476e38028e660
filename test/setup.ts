/**
 * Runs before every test file (after miniprogram-simulate has defined Component, Behavior and a mock `wx`).
 * Adds what simulate lacks: page globals (`getApp`, `getCurrentPages`, `Page`).
 */
const globals = globalThis as unknown as Record<string, unknown>;
const app: Record<string, unknown> = { globalData: {} };
globals.getApp = () => app;
globals.getCurrentPages = () => [];
if (typeof globals.Page !== 'function') globals.Page = globals.Component;
