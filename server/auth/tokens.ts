/**
 * Account tokens: JWT HS256 `{sub: account, exp}` minted with the secret the app's business server shares
 * with us (the role of Tencent's UserSig). Verification pins the algorithm so `none`/RS tricks are refused.
 */
import jwt from 'jsonwebtoken';
import { ACCOUNT_PATTERN, Code, NetcallError } from '../../services/protocol';

export function mintToken(secret: string, account: string, ttlSeconds = 24 * 3600): string {
  if (!ACCOUNT_PATTERN.test(account))
    throw new NetcallError(Code.BAD_REQUEST, `invalid account "${account}"`);
  return jwt.sign({}, secret, { algorithm: 'HS256', subject: account, expiresIn: ttlSeconds });
}

/** Returns the account, or throws a 401 NetcallError saying why. */
export function verifyToken(secret: string, token: string): string {
  let payload: jwt.JwtPayload | string;
  try {
    payload = jwt.verify(token, secret, { algorithms: ['HS256'] });
  } catch (error) {
    const reason = error instanceof jwt.TokenExpiredError ? 'token expired' : 'invalid token';
    throw new NetcallError(Code.UNAUTHORIZED, reason);
  }
  const account = typeof payload === 'object' ? payload.sub : undefined;
  if (!account || !ACCOUNT_PATTERN.test(account))
    throw new NetcallError(Code.UNAUTHORIZED, 'token has no valid "sub" account');
  if (typeof payload === 'object' && payload.exp === undefined)
    throw new NetcallError(Code.UNAUTHORIZED, 'token has no "exp"');
  return account;
}
