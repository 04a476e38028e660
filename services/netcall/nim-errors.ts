/**
 * How NetEase's weixin Netcall SDK (SDK77) fails, turned into our one error type. `NimNetcall`'s part that reads
 * the SDK's rejections: plain strings, `Error`s thrown by `verifyOptions`, gateway objects `{code, desc}`, and
 * IM errors as NetEase's IM SDK wraps them (`{message, callFunc, event: {code, message}}`). It never calls the
 * SDK and holds no state.
 */
import { Code, NetcallError } from '../protocol';

/**
 * IM / NRTC codes worth a name of our own. SDK77 passes IM errors through, so these are the codes of the error
 * table of NetEase's IM SDK (`NIM_Web_NIM_weixin` v7.7.0): 11001 对方离线, 通话不可送达 (callee offline; NetEase's
 * demo checks `error.event.code === 11001`), 9102 通道失效 (channel no longer valid), 9103 已经在其他端接听/拒绝过
 * 这通电话 (answered or rejected on another device), 414 参数错误 (bad parameter; in NRTC a mode mismatch); 600:
 * SDK77's NRTC `joinChannel`, a third party joined a two-person room.
 */
const CODE_MAP: Record<number, number> = {
  11001: Code.NOT_FOUND,
  9102: Code.NOT_FOUND,
  9103: Code.CONFLICT,
  414: Code.BAD_REQUEST,
  600: Code.CONFLICT,
};

/** The SDK's plain-string rejections, by meaning (Chinese as SDK77 writes them, English for our own). */
const MESSAGE_CODES: [RegExp, number][] = [
  [/正在通话中|已经在房间中|正在房间中|already in (a call|session|the room)/i, Code.CONFLICT],
  [/未处于房间中|不在房间中|not in a room/i, Code.NOT_FOUND],
  [/入参|参数|无效|为空|密钥|param|invalid|must be/i, Code.BAD_REQUEST],
  [/超时|time ?out/i, Code.TIMEOUT],
];

export function numericCode(value: unknown): number | null {
  const code = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof code === 'number' && Number.isInteger(code) ? code : null;
}

/**
 * Turns whatever the SDK rejected or threw with into a `NetcallError`: NIM error objects keep their code when
 * it is HTTP-like (403, 404, 417…), known NIM codes are mapped, plain strings are classified by meaning,
 * anything else becomes 500.
 */
export function toNetcallError(reason: unknown, context?: string): NetcallError {
  if (reason instanceof NetcallError) return reason;
  let message: string;
  let raw: number | null = null;
  if (typeof reason === 'string') message = reason;
  else if (reason instanceof Error) {
    message = reason.message;
    raw = numericCode((reason as Error & { code?: unknown }).code);
  } else if (typeof reason === 'object' && reason !== null) {
    const object = reason as {
      code?: unknown;
      message?: unknown;
      desc?: unknown;
      errMsg?: unknown;
      event?: { code?: unknown; message?: unknown };
    };
    raw = numericCode(object.code) ?? numericCode(object.event?.code);
    // NetEase's IM SDK wraps a server error: the outer message is a generic 生成接口回调错误 (callback error).
    const text = object.event?.message ?? object.message ?? object.desc ?? object.errMsg;
    message = typeof text === 'string' ? text : raw !== null ? `NetEase error ${raw}` : 'unknown SDK error';
  } else message = 'unknown SDK error';

  let code: number | null = raw === null ? null : (CODE_MAP[raw] ?? (raw >= 400 && raw < 600 ? raw : null));
  if (code === null) code = MESSAGE_CODES.find(([pattern]) => pattern.test(message))?.[1] ?? Code.INTERNAL;
  // A NetEase code we mapped to one of ours stays in the message: it is what NetEase's docs and demos name.
  if (raw !== null && raw !== code && !message.includes(String(raw))) message = `${message} (NetEase ${raw})`;
  return new NetcallError(code, context ? `${context}: ${message}` : message);
}
