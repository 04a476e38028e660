/**
 * Labels for the call screen in the languages the kit ships. The host app picks the language (the kit never
 * guesses it from the system), and an unknown one falls back to English rather than showing keys.
 * Pure data and formatting: no `wx`, no state.
 */
import type { EndReason } from '../call/types';
import { en } from './en';
import type { CallLabels, Lang } from './types';
import { zhCN } from './zh-CN';

export type { CallLabels, EndReasonLabelKey, Lang } from './types';

export const LANGS: readonly Lang[] = ['zh-CN', 'en'];

// Frozen and shared: a component can compare the object by reference and send it to the view only once.
const TABLE: Record<Lang, Readonly<CallLabels>> = {
  'zh-CN': Object.freeze(zhCN),
  en: Object.freeze(en),
};

/** The flat label object for `lang`; always the same object for the same language. */
export function labels(lang: string | undefined): Readonly<CallLabels> {
  return Object.prototype.hasOwnProperty.call(TABLE, lang ?? '') ? TABLE[lang as Lang] : TABLE.en;
}

/** Why the call ended, in `lang`. */
export function endReasonLabel(reason: EndReason, lang: string | undefined): string {
  return labels(lang)[`reason.${reason}`];
}

/** Whole seconds as `mm:ss`, or `h:mm:ss` from an hour on; the same in every language. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const two = (value: number) => (value < 10 ? `0${value}` : String(value));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = `${two(minutes)}:${two(total % 60)}`;
  return hours > 0 ? `${hours}:${rest}` : rest;
}
