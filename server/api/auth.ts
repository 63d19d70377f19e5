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

/** Token authentication for every route; compares in constant time. */
export function requireToken(token: string): RequestHandler {
  const expected = digest(token);
  return (req, res, next) => {
    const given = presentedToken(req.headers.authorization);
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return next();
    res.setHeader('WWW-Authenticate', 'Basic realm="berth", Bearer realm="berth"');
    next(new BerthError('E_API_UNAUTHORIZED', given === undefined ? 'this request carries no API token' : 'the API token is wrong'));
  };
}
