import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { BerthError } from '../core/index.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The token from `Authorization: Bearer <t>` or, for git clients, Basic auth's password. */
function presentedToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.split(/\s+/, 2);
  if (!value) return undefined;
  if (scheme?.toLowerCase() === 'bearer') return value;
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}

/** Whether an Authorization header carries `token` (constant time); also for upgrade requests, which bypass express. */
export function tokenMatches(token: string, header: string | undefined): boolean {
  const given = presentedToken(header);
  return given !== undefined && timingSafeEqual(digest(given), digest(token));
}

/** Token authentication for every route; compares in constant time. */
export function requireToken(token: string): RequestHandler {
  return (req, res, next) => {
    if (tokenMatches(token, req.headers.authorization)) return next();
    const given = presentedToken(req.headers.authorization);
    res.setHeader('WWW-Authenticate', 'Basic realm="berth", Bearer realm="berth"');
    next(new BerthError('E_API_UNAUTHORIZED', given === undefined ? 'this request carries no API token' : 'the API token is wrong'));
  };
}
