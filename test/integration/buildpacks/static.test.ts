/**
 * The bundled static buildpack in a real build container on the stack image: busybox httpd
 * serves the site on $PORT with the right Content-Type for each kind of file, and serves
 * no dotfile (the fixture has a .env).
 */
import test from 'ava';
import { useApps } from './apps.js';

test('a static site builds and answers with the right Content-Type', async (t) => {
  t.timeout(5 * 60_000);
  const b = await useApps(t);
  const r = await b.build2(await b.fixture('static'), { tags: ['site:1'] });
  t.is(r.error, undefined, `${r.error?.message}\n${r.text}`);
  t.true(r.lines.includes('-----> Static HTML app detected'), r.text);
  t.regex(r.text, /Serving the app's root with busybox httpd on \$PORT/);
  t.deepEqual(JSON.parse(r.result!.image.config.config!.Labels!['berth.process-types']!), { web: '.static-web/serve' });

  const site = await b.serve('site:1');
  const expected: [string, string][] = [
    ['/', 'text/html;charset=utf-8'],
    ['/index.html', 'text/html;charset=utf-8'],
    ['/assets/site.css', 'text/css'],
    ['/assets/app.js', 'text/javascript;charset=utf-8'],
    ['/assets/app.mjs', 'text/javascript;charset=utf-8'],
    ['/assets/data.json', 'application/json'],
    ['/assets/dot.svg', 'image/svg+xml'],
    ['/assets/empty.wasm', 'application/wasm'],
  ];
  for (const [path, type] of expected) {
    const a = await site.get(path);
    t.is(a.status, 200, path);
    t.is(a.headers['content-type'], type, path);
  }
  t.regex((await site.get('/')).body, /<h1>hello from a static site<\/h1>/);
  t.is((await site.get('/.env')).status, 404, 'dotfiles are not served');
  t.is((await site.get('/nope.html')).status, 404);
});
