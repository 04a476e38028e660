/**
 * Makes subscribe-message values fit WeChat's per-type limits, so a long account name cannot turn a notice
 * into a 47003 ("argument invalid! data.thing1.value invalid"). The type is the key's prefix (`thing1` is a
 * thing, `character_string2` a character_string), exactly as the template's keys are named in the admin
 * console. Limits are WeChat's "订阅消息参数值内容限制" table, counted in characters (code points).
 */

/**
 * Max characters per key type; types not listed (time, date, amount, enum) have formats, not lengths. A Map:
 * on a plain object a key named `constructor1` would find Object's constructor and cut the value to nothing.
 */
const MAX_CHARS = new Map<string, number>([
  ['thing', 20],
  ['number', 32],
  ['letter', 32],
  ['symbol', 5],
  ['character_string', 32],
  ['phone_number', 17],
  ['car_number', 8],
  ['phrase', 5],
  // name: 10 Chinese characters, or 20 letters/symbols; mixed counts as Chinese. Handled below.
]);

/** The type part of a template key: `thing1` → `thing`, `character_string12` → `character_string`. */
export function keyType(key: string): string {
  const match = /^([a-z_]+?)\d+$/.exec(key);
  return match ? match[1] : key;
}

const chars = (value: string) => Array.from(value); // code points, so an emoji or CJK char counts once

/** One value, cut to its key type's limit. Only `thing` gets an ellipsis: the other types forbid symbols. */
export function fitTemplateValue(key: string, value: string | number): string {
  // Line breaks and runs of spaces are never meaningful in a one-line template field.
  const text = String(value).replace(/\s+/g, ' ').trim();
  const type = keyType(key);
  // eslint-disable-next-line no-control-regex
  const max = type === 'name' ? (/^[\x00-\x7f]*$/.test(text) ? 20 : 10) : MAX_CHARS.get(type);
  const list = chars(text);
  if (max === undefined || list.length <= max) return text;
  return type === 'thing' ? list.slice(0, max - 1).join('') + '…' : list.slice(0, max).join('');
}

/** A whole `data` map in WeChat's `{key: {value}}` shape, every value fitted. */
export function fitTemplateData(data: Record<string, string | number>): Record<string, { value: string }> {
  // fromEntries defines own properties: a `__proto__` key stays a key instead of replacing the prototype.
  return Object.fromEntries(
    Object.keys(data).map((key) => [key, { value: fitTemplateValue(key, data[key]) }]),
  );
}
