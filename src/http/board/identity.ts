/**
 * Who is using the board (docs/board.md: identity). A decision's `by` is the
 * person found here, never a name typed into a form:
 *
 * - `proxy`: an authenticating proxy in front (oauth2-proxy convention) sets a header to the
 *   person's name; the header counts only on connections from `trustedAddresses`, so nobody
 *   who reaches the server directly can claim a name.
 * - `tokens`: each person signs in with their own token (stored as a scrypt hash) and gets a
 *   session cookie: HttpOnly, SameSite=Strict, Secure over TLS, signed with a key kept in the
 *   state directory, and expiring after `sessionTtl`.
 *
 * Every state-changing request also carries a CSRF token (a signed random value from a
 * SameSite=Strict cookie, echoed in the form or a header) and is refused when the browser says
 * it comes from another site.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Config } from '../../config/schema';
import { parseDuration } from '../../common/duration';
import { LoginLimiter } from './login-limiter';
import { verifyToken } from './token-hash';

export type BoardAuthConfig = Config['board']['auth'];

export interface Person {
  name: string;
  /** How the board knows: a trusted proxy's header, or a token login. */
  via: 'proxy' | 'token';
}

export interface BoardAuthOptions {
  auth: BoardAuthConfig;
  /** Signs session and CSRF cookies. */
  key: Buffer;
  /** Where a relative `tokensFile` is resolved. */
  baseDir: string;
  /** Mark cookies Secure (the server is reached over TLS). */
  secureCookies: boolean;
  /** Origins besides the request's own Host that count as same-site (the public URL's). */
  origins?: string[];
  now?: () => number;
  limiter?: LoginLimiter;
}

export type LoginResult =
  | { ok: true; person: Person; setCookie: string }
  | { ok: false; status: 400 | 401 | 429; reason: string; retryAfter?: number };

const SESSION = 'rf_session';
const CSRF = 'rf_csrf';

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    const name = part.slice(0, at).trim();
    if (name && !(name in out)) out[name] = part.slice(at + 1).trim();
  }
  return out;
}

/** The client's address without the IPv4-mapped IPv6 prefix. */
export function remoteAddress(req: http.IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function sameBytes(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

interface TokenEntry {
  name: string;
  hash: string;
}

export class BoardAuth {
  readonly mode: BoardAuthConfig['mode'];
  readonly readRequiresLogin: boolean;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly limiter: LoginLimiter;
  private fileCache?: { file: string; mtimeMs: number; entries: TokenEntry[] };

  constructor(private readonly opts: BoardAuthOptions) {
    this.mode = opts.auth.mode;
    this.readRequiresLogin = opts.auth.read === 'login';
    this.ttlMs = parseDuration(opts.auth.sessionTtl);
    this.now = opts.now ?? Date.now;
    this.limiter = opts.limiter ?? new LoginLimiter({ now: this.now });
  }

  /** The person behind a request, or null when it is anonymous. */
  identify(req: http.IncomingMessage): Person | null {
    if (this.mode === 'proxy') {
      const { header, trustedAddresses } = this.opts.auth.proxy;
      if (!trustedAddresses.includes(remoteAddress(req))) return null;
      const value = req.headers[header.toLowerCase()];
      const name = (Array.isArray(value) ? value[0] : value)?.trim();
      return name ? { name, via: 'proxy' } : null;
    }
    if (this.mode === 'tokens') {
      const session = parseCookies(req.headers.cookie)[SESSION];
      const name = session ? this.sessionName(session) : null;
      // A person removed from the tokens loses their open sessions too.
      return name && this.tokenEntries().some((e) => e.name === name) ? { name, via: 'token' } : null;
    }
    return null;
  }

  async login(name: string, token: string, address: string): Promise<LoginResult> {
    if (this.mode !== 'tokens') {
      return { ok: false, status: 400, reason: 'this board does not use token logins' };
    }
    const keys = [`address:${address}`, `name:${name.toLowerCase()}`];
    const wait = this.limiter.retryAfter(keys);
    if (wait > 0) {
      return {
        ok: false,
        status: 429,
        reason: `too many failed logins; try again in ${wait} s`,
        retryAfter: wait,
      };
    }
    const entry = name ? this.tokenEntries().find((e) => e.name === name) : undefined;
    // Hash even for an unknown name, so timing does not tell which names exist.
    const good = await verifyToken(token, entry?.hash ?? DUMMY_HASH);
    if (!entry || !good || !token) {
      this.limiter.fail(keys);
      return { ok: false, status: 401, reason: 'unknown name or wrong token' };
    }
    this.limiter.succeed([`name:${name.toLowerCase()}`]);
    const expires = this.now() + this.ttlMs;
    const encoded = Buffer.from(name).toString('base64url');
    const value = `${encoded}.${expires}.${this.sign(`session:${encoded}.${expires}`)}`;
    return {
      ok: true,
      person: { name, via: 'token' },
      setCookie: this.cookie(SESSION, value, Math.floor(this.ttlMs / 1000)),
    };
  }

  logoutCookie(): string {
    return this.cookie(SESSION, '', 0);
  }

  /** The CSRF token to put in forms, and the cookie to set when the browser has none yet. */
  csrf(req: http.IncomingMessage): { token: string; setCookie?: string } {
    const current = parseCookies(req.headers.cookie)[CSRF];
    if (current && this.validCsrf(current)) return { token: current };
    const nonce = randomBytes(18).toString('base64url');
    const token = `${nonce}.${this.sign(`csrf:${nonce}`)}`;
    return { token, setCookie: this.cookie(CSRF, token, 7 * 24 * 3600) };
  }

  /** Why a state-changing request is refused as cross-site, or null when it is not. */
  crossSite(req: http.IncomingMessage, submitted: string | undefined): string | null {
    const fetchSite = req.headers['sec-fetch-site'];
    if (fetchSite === 'cross-site' || fetchSite === 'same-site') {
      return 'cross-site request refused: it came from another site';
    }
    const origin = req.headers.origin;
    if (origin && origin !== 'null' && !this.sameOrigin(req, origin)) {
      return `cross-site request refused: origin ${origin} is not this board`;
    }
    if (origin === 'null') return 'cross-site request refused: opaque origin';
    const cookie = parseCookies(req.headers.cookie)[CSRF];
    if (!cookie || !this.validCsrf(cookie) || !submitted || !sameBytes(cookie, submitted)) {
      return 'cross-site request refused: missing or wrong CSRF token (reload the board and try again)';
    }
    return null;
  }

  private sameOrigin(req: http.IncomingMessage, origin: string): boolean {
    const host = req.headers.host;
    const own = host ? [`http://${host}`, `https://${host}`] : [];
    return [...own, ...(this.opts.origins ?? [])].includes(origin.replace(/\/+$/, ''));
  }

  private validCsrf(value: string): boolean {
    const [nonce, sig, ...rest] = value.split('.');
    return !!nonce && !!sig && !rest.length && sameBytes(sig, this.sign(`csrf:${nonce}`));
  }

  private sessionName(value: string): string | null {
    const [encoded, expires, sig, ...rest] = value.split('.');
    if (!encoded || !expires || !sig || rest.length) return null;
    if (!sameBytes(sig, this.sign(`session:${encoded}.${expires}`))) return null;
    if (!(Number(expires) > this.now())) return null;
    return Buffer.from(encoded, 'base64url').toString('utf8');
  }

  private sign(text: string): string {
    return createHmac('sha256', this.opts.key).update(text).digest('base64url');
  }

  private cookie(name: string, value: string, maxAge: number): string {
    return [
      `${name}=${value}`,
      'Path=/',
      `Max-Age=${maxAge}`,
      'HttpOnly',
      'SameSite=Strict',
      ...(this.opts.secureCookies ? ['Secure'] : []),
    ].join('; ');
  }

  private tokenEntries(): TokenEntry[] {
    const inline = this.opts.auth.tokens;
    const file = this.opts.auth.tokensFile;
    if (!file) return inline;
    return [...inline, ...this.fileEntries(path.resolve(this.opts.baseDir, file))];
  }

  private fileEntries(file: string): TokenEntry[] {
    try {
      const mtimeMs = statSync(file).mtimeMs;
      if (this.fileCache?.file === file && this.fileCache.mtimeMs === mtimeMs) return this.fileCache.entries;
      const parsed = parseYaml(readFileSync(file, 'utf8')) as unknown;
      const list = Array.isArray(parsed) ? parsed : ((parsed as { tokens?: unknown })?.tokens ?? []);
      const entries = (Array.isArray(list) ? list : []).filter(
        (e): e is TokenEntry =>
          !!e && typeof (e as TokenEntry).name === 'string' && typeof (e as TokenEntry).hash === 'string',
      );
      this.fileCache = { file, mtimeMs, entries };
      return entries;
    } catch {
      // A missing or broken file signs nobody in; the config check names the file.
      return [];
    }
  }
}

// A valid hash of a random token: verifying against it costs what a real check costs.
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
