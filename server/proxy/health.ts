import { request } from 'node:http';

/**
 * Ask nginx on 127.0.0.1:port for a host nobody serves: Berth's default server answers 404
 * with its marker header. Resolves with the status and whether the marker was there.
 */
export function probeNginx(port: number, timeoutMs = 2000): Promise<{ status: number; defaultServer: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { Host: 'berth-probe.invalid' }, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, defaultServer: res.headers['x-berth-default-server'] === '1' }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from 127.0.0.1:${port} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
