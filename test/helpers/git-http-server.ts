/**
 * Bare repositories served over smart HTTP on 127.0.0.1 by git's own CGI program
 * (`git http-backend`), behind Basic authentication the test decides on, so a test can see
 * exactly which credentials a git client sent. Every Authorization header is recorded.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitHttpServer {
  url: string;
  /** `user:password` of every request that carried Basic credentials, in order. */
  credentials: string[];
  stop: () => Promise<void>;
}

export async function startGitHttpServer(
  root: string,
  accepts: (user: string, password: string) => boolean,
): Promise<GitHttpServer> {
  const credentials: string[] = [];
  const server = http.createServer((req, res) => {
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const pair = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8') : '';
    if (basic) credentials.push(pair);
    const colon = pair.indexOf(':');
    const [user, password] = colon < 0 ? ['', ''] : [pair.slice(0, colon), pair.slice(colon + 1)];
    if (!basic || !accepts(user, password)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' });
      res.end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const header = (name: string) => String(req.headers[name] ?? '');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: header('content-type'),
        HTTP_CONTENT_ENCODING: header('content-encoding'),
        HTTP_GIT_PROTOCOL: header('git-protocol'),
        // http-backend allows pushes only for an authenticated user.
        REMOTE_USER: user,
        REMOTE_ADDR: '127.0.0.1',
      },
    });
    req.pipe(cgi.stdin);
    const out: Buffer[] = [];
    cgi.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    cgi.on('close', () => {
      const all = Buffer.concat(out);
      const end = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, end).toString('utf8').split('\r\n');
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head) {
        const [name, ...value] = line.split(': ');
        if (name!.toLowerCase() === 'status') status = Number.parseInt(value.join(': '), 10);
        else headers[name!.toLowerCase()] = value.join(': ');
      }
      res.writeHead(status, headers);
      res.end(all.subarray(end + 4));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    credentials,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
