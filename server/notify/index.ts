/**
 * Out-of-band notices (today: "you missed a call") to a user who may not have the mini-program open.
 * The interface is pluggable so an app can route notices through its own push service. A notifier must never
 * throw or reject: failures come back as a result value and are logged, because it runs after signalling
 * has already decided and must not disturb it.
 */
import type { CallType } from '../../services/protocol';

export {
  WeChatSubscribeNotifier,
  formatWeChatTime,
  type WeChatSubscribeNotifierOptions,
  type TemplateData,
} from './wechat-subscribe';
export { fitTemplateData, fitTemplateValue } from './template-values';

export interface MissedCallEvent {
  /** Who missed it (gets the notice). */
  callee: string;
  caller: string;
  type: CallType;
  cid: string;
  /** ms epoch when the call was placed. */
  at: number;
}

export type NotifyResult =
  | { status: 'sent'; msgid?: string }
  /** Nothing to send to: no openid for the account, or notices are off. */
  | { status: 'skipped'; reason: string }
  /** The user has not subscribed (WeChat 43101): expected, never retried. */
  | { status: 'refused'; errcode: number; errmsg: string }
  | { status: 'failed'; errcode?: number; errmsg: string };

export interface Notifier {
  missedCall(event: MissedCallEvent): Promise<NotifyResult>;
}

/** The default: notices are off. */
export const noopNotifier: Notifier = {
  missedCall: () => Promise.resolve({ status: 'skipped', reason: 'notifications disabled' }),
};

/** The logger shape the server already passes around (pino satisfies it). */
export interface NotifyLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}
