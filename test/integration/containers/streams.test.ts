/**
 * attach and exec: HTTP Upgrade streams of frames through the real API to a container on
 * the real runtime. The token is checked on the upgrade too.
 */
import test from 'ava';
import { frameTypes } from '../../../server/core/index.js';
import { openStream, until, useContainers } from '../../helpers/containers.js';

test('attach before start: every output frame, then the exit frame', async (t) => {
  const c = await useContainers(t);
  const r = await c.api('POST', '/v1/containers', { image: 'busybox', cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
  const id = r.body.id as string;
  const s = await openStream(c.url, `/v1/containers/${id}/attach`, c.token);
  t.is(s.status, 101, JSON.stringify(s.body));
  t.is((await c.api('POST', `/v1/containers/${id}/start`)).status, 200);
  await s.closed;
  t.is(s.stdout(), 'out\n');
  t.is(s.stderr(), 'err\n');
  t.deepEqual(s.exit(), { exitCode: 3 });
  t.is(s.frames.at(-1)?.type, frameTypes.exit, 'the exit frame is the last one');
  await until('the exit to be recorded', async () => (await c.api('GET', `/v1/containers/${id}`)).body.state === 'exited');
  await c.api('DELETE', `/v1/containers/${id}`);
  t.deepEqual(c.leftovers(), []);
});

test('attach with stdin: input frames reach the program, close stdin ends it', async (t) => {
  const c = await useContainers(t);
  const r = await c.api('POST', '/v1/containers', { image: 'busybox', cmd: ['sh', '-c', 'read x; echo got $x; cat; echo done'], stdin: true, rm: true });
  const id = r.body.id as string;
  const s = await openStream(c.url, `/v1/containers/${id}/attach`, c.token);
  t.is(s.status, 101, JSON.stringify(s.body));
  await c.api('POST', `/v1/containers/${id}/start`);
  s.send(frameTypes.stdin, Buffer.from('hello\n'));
  await until('the answer', () => s.stdout().includes('got hello'));
  s.send(frameTypes.stdin, Buffer.from('more\n'));
  s.send(frameTypes.closeStdin);
  await s.closed;
  t.is(s.stdout(), 'got hello\nmore\ndone\n');
  t.deepEqual(s.exit(), { exitCode: 0 });
  await until('--rm to remove it', async () => (await c.api('GET', `/v1/containers/${id}`)).status === 404);
  t.deepEqual(c.leftovers(), []);
});

test('exec: output, stderr, exit code; stdin; refused on a stopped container', async (t) => {
  const c = await useContainers(t);
  const r = await c.api('POST', '/v1/containers', { image: 'busybox', cmd: ['sleep', '600'], env: ['FROM_CREATE=yes'] });
  const id = r.body.id as string;
  const notRunning = await openStream(c.url, `/v1/containers/${id}/exec?cmd=${encodeURIComponent('["true"]')}`, c.token);
  t.is(notRunning.status, 409);
  t.is(notRunning.body.error.code, 'E_CONTAINER_NOT_RUNNING');
  await c.api('POST', `/v1/containers/${id}/start`);
  const cmd = encodeURIComponent(JSON.stringify(['sh', '-c', 'echo hi $FROM_CREATE $EXTRA; pwd; echo oops >&2; exit 5']));
  const env = encodeURIComponent(JSON.stringify(['EXTRA=more']));
  const s = await openStream(c.url, `/v1/containers/${id}/exec?cmd=${cmd}&env=${env}&workdir=/tmp`, c.token);
  t.is(s.status, 101, JSON.stringify(s.body));
  s.send(frameTypes.closeStdin);
  await s.closed;
  t.is(s.stdout(), 'hi yes more\n/tmp\n');
  t.is(s.stderr(), 'oops\n');
  t.deepEqual(s.exit(), { exitCode: 5 });
  const cat = await openStream(c.url, `/v1/containers/${id}/exec?cmd=${encodeURIComponent('["cat"]')}`, c.token);
  cat.send(frameTypes.stdin, Buffer.from('through stdin\n'));
  cat.send(frameTypes.closeStdin);
  await cat.closed;
  t.is(cat.stdout(), 'through stdin\n');
  t.deepEqual(cat.exit(), { exitCode: 0 });
  const missing = await openStream(c.url, `/v1/containers/${id}/exec?cmd=${encodeURIComponent('["/no/such"]')}`, c.token);
  missing.send(frameTypes.closeStdin);
  await missing.closed;
  t.is(missing.exit()?.exitCode, 127);
  await c.api('DELETE', `/v1/containers/${id}?force=true`);
  t.deepEqual(c.leftovers(), []);
});

test('the upgrade routes need the token, like every route', async (t) => {
  const c = await useContainers(t);
  const r = await c.api('POST', '/v1/containers', { image: 'busybox', cmd: ['echo', 'secret'] });
  const id = r.body.id as string;
  for (const path of [`/v1/containers/${id}/attach`, `/v1/containers/${id}/exec?cmd=${encodeURIComponent('["id"]')}`]) {
    const none = await openStream(c.url, path, null);
    t.is(none.status, 401, path);
    t.is(none.body.error.code, 'E_API_UNAUTHORIZED');
    const wrong = await openStream(c.url, path, 'not-the-token');
    t.is(wrong.status, 401, path);
    t.regex(wrong.body.error.message, /wrong/);
  }
  t.is((await c.api('GET', `/v1/containers/${id}`)).body.state, 'created', 'nothing happened to the container');
  t.deepEqual(c.leftovers(), [], 'an unauthorized attach did not create it in the runtime');
  const plain = await c.api('POST', `/v1/containers/${id}/attach`);
  t.is(plain.body.error.code, 'E_API_BAD_REQUEST', 'without Upgrade: says it is a stream');
  await c.api('DELETE', `/v1/containers/${id}`);
});

test('a terminal: attach to sh -it, resize, type, exit; exec -t gets a terminal of its own', async (t) => {
  const c = await useContainers(t);
  const r = await c.api('POST', '/v1/containers', { image: 'busybox', cmd: ['sh'], tty: true, stdin: true });
  const id = r.body.id as string;
  const s = await openStream(c.url, `/v1/containers/${id}/attach`, c.token);
  t.is(s.status, 101, JSON.stringify(s.body));
  await c.api('POST', `/v1/containers/${id}/start`);
  s.send(frameTypes.resize, Buffer.from([0, 33, 0, 101]));
  s.send(frameTypes.stdin, Buffer.from('stty size; tty; echo te""st\n'));
  await until('the answer', () => s.stdout().includes('test'));
  t.regex(s.stdout(), /33 101/);
  t.regex(s.stdout(), /\/dev\/pts\/\d+/);
  t.is(s.stderr(), '', 'a terminal has one stream');
  const cmd = encodeURIComponent(JSON.stringify(['sh', '-c', 'tty; stty size']));
  const e = await openStream(c.url, `/v1/containers/${id}/exec?cmd=${cmd}&tty=true&rows=20&cols=70`, c.token);
  t.is(e.status, 101, JSON.stringify(e.body));
  await e.closed;
  t.regex(e.stdout(), /\/dev\/pts\/\d+\r?\n20 70/);
  t.deepEqual(e.exit(), { exitCode: 0 });
  s.send(frameTypes.stdin, Buffer.from('exit 3\n'));
  await s.closed;
  t.deepEqual(s.exit(), { exitCode: 3 });
  await until('the exit to be recorded', async () => (await c.api('GET', `/v1/containers/${id}`)).body.state === 'exited');
  await c.api('DELETE', `/v1/containers/${id}`);
  t.deepEqual(c.leftovers(), []);
});
