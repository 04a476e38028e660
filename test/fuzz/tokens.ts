/**
 * Account tokens for the protocol fuzzer, crafted by hand rather than with `jsonwebtoken` so that they can be
 * wrong in ways the library refuses to sign (`alg: none`, a numeric `sub`, a string `exp`, a payload that is
 * not an object). Each token says what the server must make of it: `bad` fails verification (401), `other`
 * is valid for an account nobody uses (a session of someone else: 403 on renewToken), `self` is valid for the
 * fuzz account itself and may only ever reach a connection that is already logged in.
 */
import { createHmac } from 'crypto';
import fc from 'fast-check';
import { ACCOUNT_PATTERN } from '../../services/protocol';
import { PROTOTYPE_NAMES } from '../helpers/accounts';

type TokenVerdict = 'bad' | 'other' | 'self';
export interface FuzzToken {
  text: string;
  verdict: TokenVerdict;
}

const MAX_TOKEN_CHARS = 4096;
const DAY = 24 * 3600;

const part = (value: unknown) => Buffer.from(JSON.stringify(value) ?? 'null').toString('base64url');

/** header.payload.signature; `key` null leaves the signature empty, as an `alg: none` token does. */
function craftJwt(header: unknown, payload: unknown, key: string | null, hash = 'sha256'): string {
  const body = `${part(header)}.${part(payload)}`;
  if (key === null) return `${body}.`;
  return `${body}.${createHmac(hash, key).update(body).digest('base64url')}`;
}

const HS256 = { alg: 'HS256', typ: 'JWT' };
const isAccount = (value: unknown) => typeof value === 'string' && ACCOUNT_PATTERN.test(value);

/**
 * Tokens of every kind the server must refuse with 401, for accounts chosen from `accounts` (never one that
 * could log in successfully: every one of these fails for a reason other than its account).
 */
export function badTokens(secret: string, accounts: fc.Arbitrary<string>): fc.Arbitrary<FuzzToken> {
  // Read at generation time: a token that is expired now is expired when the server reads it, later.
  const now = () => Math.floor(Date.now() / 1000);
  const claims = accounts.map((sub) => ({ sub, iat: now(), exp: now() + 600 }));
  const otherSecret = fc
    .string({ unit: 'grapheme-ascii', minLength: 32, maxLength: 64 })
    .filter((key) => key !== secret);
  const wrongSub = fc
    .oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.constantFrom('', 'a b', 'x'.repeat(65), 'é', 'a/b', ' fuzz'),
      fc.integer(),
      fc.constantFrom(null, true, [], {}, ['fuzz']),
    )
    .filter((sub) => !isAccount(sub));
  const garbage = fc
    .oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 100 }),
      fc.constantFrom('a.b.c', '..', '.', 'Bearer x', 'null', 'NaN', 'undefined', ...PROTOTYPE_NAMES),
      fc
        .array(fc.base64String({ maxLength: 40 }), { minLength: 1, maxLength: 5 })
        .map((parts) => parts.join('.')),
      fc.string({ unit: 'grapheme-ascii', minLength: 1000, maxLength: MAX_TOKEN_CHARS }),
    )
    .filter((text) => text.length >= 1 && text.length <= MAX_TOKEN_CHARS);
  const crafted = fc.oneof(
    // Expired (a second to a day ago).
    fc
      .tuple(accounts, fc.integer({ min: 1, max: DAY }))
      .map(([sub, ago]) => craftJwt(HS256, { sub, iat: now() - DAY, exp: now() - ago }, secret)),
    // Forged: signed with a secret that is not the server's.
    fc.tuple(claims, otherSecret).map(([payload, key]) => craftJwt(HS256, payload, key)),
    // `alg: none`, with and without the signature a real key would have made.
    fc
      .tuple(claims, fc.boolean(), fc.constantFrom('none', 'None', 'NONE'))
      .map(([payload, signed, alg]) => craftJwt({ alg, typ: 'JWT' }, payload, signed ? secret : null)),
    // The right secret under another algorithm the server does not accept.
    claims.map((payload) => craftJwt({ alg: 'HS512', typ: 'JWT' }, payload, secret, 'sha512')),
    // `sub` that is no account, or missing.
    fc
      .tuple(wrongSub, fc.boolean())
      .map(([sub, present]) =>
        craftJwt(
          HS256,
          present ? { sub, iat: now(), exp: now() + 600 } : { iat: now(), exp: now() + 600 },
          secret,
        ),
      ),
    // No `exp`, or one that is not a number.
    fc
      .tuple(accounts, fc.constantFrom(undefined, 'soon', null, [1]))
      .map(([sub, exp]) => craftJwt(HS256, exp === undefined ? { sub, iat: now() } : { sub, exp }, secret)),
    // Longer-lived than the server allows (30 days by default).
    fc
      .tuple(accounts, fc.integer({ min: 31 * DAY, max: 3650 * DAY }), fc.boolean())
      .map(([sub, life, withIat]) =>
        craftJwt(
          HS256,
          withIat ? { sub, iat: now(), exp: now() + life } : { sub, exp: now() + life },
          secret,
        ),
      ),
    // Not valid yet.
    claims.map((payload) => craftJwt(HS256, { ...payload, nbf: now() + 3600 }, secret)),
    // Signed, then its payload swapped for another account's.
    fc.tuple(claims, accounts).map(([payload, sub]) => {
      const [header, , signature] = craftJwt(HS256, payload, secret).split('.');
      return `${header}.${part({ ...payload, sub: `${sub}x` })}.${signature}`;
    }),
    // A payload that is not an object.
    fc
      .constantFrom('"fuzz"', 'null', '[]', '42', 'true')
      .map((json) => craftJwt(HS256, JSON.parse(json) as unknown, secret)),
  );
  return fc
    .oneof({ arbitrary: garbage, weight: 2 }, { arbitrary: crafted, weight: 3 })
    .map((text) => ({ text, verdict: 'bad' as const }));
}

/** A valid token for one of `accounts`, labelled with what it is to a fuzz connection (someone else's, or its own). */
export function validToken(
  secret: string,
  accounts: fc.Arbitrary<string>,
  verdict: Exclude<TokenVerdict, 'bad'>,
): fc.Arbitrary<FuzzToken> {
  return accounts.map((sub) => {
    const now = Math.floor(Date.now() / 1000);
    return { text: craftJwt(HS256, { sub, iat: now, exp: now + 600 }, secret), verdict };
  });
}
