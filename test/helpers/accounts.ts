/**
 * Account names that are valid accounts but mean something to a plain JavaScript object: a server that keys a
 * plain object by account finds Object.prototype's members under them. Shared by the accounts test and the
 * protocol fuzzer, so both cover the same names.
 */
export const PROTOTYPE_NAMES = [
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  '__defineGetter__',
  'propertyIsEnumerable',
] as const;
