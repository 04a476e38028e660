/**
 * Account tokens: JWT HS256 `{sub: account, exp}` minted with the secret the app's business server shares
 * with us (the role of Tencent's UserSig). Verification pins the algorithm so `none`/RS tricks are refused,
 * requires `exp`, bounds the lifetime, and checks `aud`/`iss` when the operator configured them.
 * Owns the "revoked before" list of kicked accounts; never touches sockets.
 */
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ACCOUNT_PATTERN, Code, NetcallError } from '../../services/protocol';

export interface TokenPolicy {
  secret: string;
  /** Tokens whose lifetime (exp − iat, or exp − now without iat) exceeds this are refused. Default 30 days. */
  maxLifetimeSeconds?: number;
  /** When set, `aud` must contain it. */
  audience?: string;
  /** When set, `iss` must equal it. */
  issuer?: string;
}

export interface VerifiedToken {
  account: string;
  /** UNIX seconds. */
  exp: number;
  /** UNIX seconds; undefined when the token has no `iat`. */
  iat?: number;
}

export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 30 * 24 * 3600;
/** How far ahead of ours the business server's clock may run. */
const IAT_LEEWAY_SECONDS = 60;

export function mintToken(
  secret: string,
  account: string,
  ttlSeconds = 24 * 3600,
  claims: { audience?: string; issuer?: string } = {},
): string {
  if (!ACCOUNT_PATTERN.test(account))
    throw new NetcallError(Code.BAD_REQUEST, `invalid account "${account}"`);
  return jwt.sign({}, secret, {
    algorithm: 'HS256',
    subject: account,
    expiresIn: ttlSeconds,
    ...(claims.audience ? { audience: claims.audience } : {}),
    ...(claims.issuer ? { issuer: claims.issuer } : {}),
  });
}

/**
 * Verifies tokens under one policy and remembers accounts kicked since, so that a kicked device cannot log
 * straight back in with the token it already holds: only a token issued after the kick is accepted.
 */
export class TokenVerifier {
  private readonly maxLifetime: number;
  /** The secret as jsonwebtoken would turn it into a key on every verify (see `verificationKey`). */
  private readonly key: KeyObject | string;
  /**
   * account → UNIX seconds of the last kick. Kept as long as a token issued before it could still be valid (its
   * `iat` is at most a minute ahead, its lifetime bounded), no longer.
   */
  private readonly revokedBefore = new Map<string, number>();

  constructor(
    private readonly policy: TokenPolicy,
    private readonly now: () => number = Date.now,
  ) {
    this.maxLifetime = policy.maxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
    this.key = verificationKey(policy.secret);
  }

  /** Returns the token's account and times, or throws a 401 NetcallError saying why. */
  verify(token: string): VerifiedToken {
    const nowSeconds = Math.floor(this.now() / 1000);
    let payload: jwt.JwtPayload | string;
    try {
      payload = jwt.verify(token, this.key, {
        algorithms: ['HS256'],
        clockTimestamp: nowSeconds,
        ...(this.policy.audience ? { audience: this.policy.audience } : {}),
        ...(this.policy.issuer ? { issuer: this.policy.issuer } : {}),
      });
    } catch (error) {
      // Never quote jsonwebtoken's message: it names the audience or issuer the server expects.
      const reason =
        error instanceof jwt.TokenExpiredError
          ? 'token expired'
          : error instanceof jwt.JsonWebTokenError && /audience/.test(error.message)
            ? 'invalid token: wrong audience'
            : error instanceof jwt.JsonWebTokenError && /issuer/.test(error.message)
              ? 'invalid token: wrong issuer'
              : 'invalid token';
      throw new NetcallError(Code.UNAUTHORIZED, reason);
    }
    if (typeof payload !== 'object') throw new NetcallError(Code.UNAUTHORIZED, 'invalid token');
    const { sub, exp, iat } = payload;
    if (typeof sub !== 'string' || !ACCOUNT_PATTERN.test(sub))
      throw new NetcallError(Code.UNAUTHORIZED, 'token has no valid "sub" account');
    if (typeof exp !== 'number') throw new NetcallError(Code.UNAUTHORIZED, 'token has no "exp"');
    const issuedAt = typeof iat === 'number' ? iat : undefined;
    // An `iat` in the future would stretch the lifetime check and escape every kick; allow a clock's drift.
    if (issuedAt !== undefined && issuedAt > nowSeconds + IAT_LEEWAY_SECONDS)
      throw new NetcallError(Code.UNAUTHORIZED, 'token issued in the future: check the minting clock');
    if (exp - Math.min(issuedAt ?? nowSeconds, nowSeconds) > this.maxLifetime)
      throw new NetcallError(
        Code.UNAUTHORIZED,
        `token lifetime exceeds the server's maximum of ${this.maxLifetime} s`,
      );
    const kickedAt = this.revokedBefore.get(sub);
    if (kickedAt !== undefined) {
      // A token without `iat` cannot prove it came after the kick.
      if (issuedAt === undefined || issuedAt <= kickedAt)
        throw new NetcallError(Code.UNAUTHORIZED, 'token revoked: the account was kicked; mint a new token');
    }
    return { account: sub, exp, ...(issuedAt === undefined ? {} : { iat: issuedAt }) };
  }

  /** How long a kick matters: past it, no token issued before it can still be valid. */
  get revocationTtlSeconds(): number {
    return this.maxLifetime + IAT_LEEWAY_SECONDS;
  }

  /** Refuses every token of `account` issued up to `atSeconds` (UNIX seconds, default now; that second included). */
  revoke(account: string, atSeconds?: number): void {
    const nowSeconds = Math.floor(this.now() / 1000);
    this.revokedBefore.set(account, Math.max(this.revokedBefore.get(account) ?? 0, atSeconds ?? nowSeconds));
    // Prune: a revocation older than the longest token lifetime can no longer match a valid token.
    for (const [name, at] of this.revokedBefore)
      if (at < nowSeconds - this.maxLifetime - IAT_LEEWAY_SECONDS) this.revokedBefore.delete(name);
  }
}

/**
 * jsonwebtoken turns a string secret into a key on every call, trying it as a PEM public key first: the throw
 * and catch cost more than the HMAC itself, once per login. Done once here, in the same order, so every token
 * meets the key it met before. An empty secret or one that parses as a public key stays a string: jsonwebtoken
 * refuses both, as it did.
 */
function verificationKey(secret: string): KeyObject | string {
  if (typeof secret !== 'string' || secret === '') return secret;
  try {
    createPublicKey(secret);
    return secret;
  } catch {
    return createSecretKey(Buffer.from(secret));
  }
}

/** Returns the account of a token under the default policy, or throws a 401 NetcallError saying why. */
export function verifyToken(secret: string, token: string): string {
  return new TokenVerifier({ secret }).verify(token).account;
}
