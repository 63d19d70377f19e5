/**
 * The attach, stdin, log path and keep options of Berth's default OCI config (checked as
 * berth-runtime checks them: refused, never repaired), the attach socket's path, and the
 * argv of exec over pipes with a terminal.
 */
import test, { type ExecutionContext } from 'ava';
import { BerthError } from '../../../server/core/index.js';
import { runtimeArgv } from '../../../server/runtime/argv.js';
import { attachSocketPath } from '../../../server/runtime/attach.js';
import { validateSpec } from '../../../server/runtime/bundle.js';
import { annotations, defaultSpec } from '../../../server/runtime/index.js';

const layers = { lower: ['/var/lib/berth/layers/a'], writable: '/var/lib/berth/containers/c1/rw' };

test('defaultSpec: attach, stdin, a terminal, its size, the log path, keep and the user', (t) => {
  const spec = defaultSpec({
    args: ['/bin/sh'],
    layers,
    terminal: true,
    consoleSize: { rows: 30, cols: 100 },
    attach: true,
    stdin: true,
    logPath: '/var/lib/berth/containers/c1/container.log',
    keepWritable: true,
    user: { uid: 1000, gid: 1000, additionalGids: [27] },
  });
  t.is(spec.process?.terminal, true);
  t.deepEqual(spec.process?.consoleSize, { height: 30, width: 100 });
  t.deepEqual(spec.process?.user, { uid: 1000, gid: 1000, additionalGids: [27] });
  t.is(spec.annotations?.[annotations.attach], 'true');
  t.is(spec.annotations?.[annotations.stdin], 'true');
  t.is(spec.annotations?.[annotations.logPath], '/var/lib/berth/containers/c1/container.log');
  t.is(spec.annotations?.[annotations.rootfsKeep], 'true');
  t.notThrows(() => validateSpec(spec));

  const plain = defaultSpec({ args: ['/bin/true'] });
  t.is(plain.process?.terminal, false);
  t.deepEqual(plain.process?.user, { uid: 0, gid: 0 });
  t.is(plain.process?.consoleSize, undefined);
  t.is(plain.annotations, undefined, 'no annotation unless asked');
});

function refused(t: ExecutionContext, fn: () => unknown, says: RegExp): void {
  const err = t.throws(fn, { instanceOf: BerthError });
  t.regex(err?.message ?? '', says);
}

test('defaultSpec: stdin without attach, a relative log path, keep without layers, bad sizes and ids are refused', (t) => {
  refused(t, () => defaultSpec({ args: ['/bin/cat'], stdin: true }), /stdin needs attach/);
  refused(t, () => defaultSpec({ args: ['/bin/true'], logPath: 'container.log' }), /log path "container.log" must be an absolute file path/);
  refused(t, () => defaultSpec({ args: ['/bin/true'], logPath: '/var/log/' }), /must be an absolute file path/);
  refused(t, () => defaultSpec({ args: ['/bin/true'], keepWritable: true }), /keepWritable needs layers/);
  refused(t, () => defaultSpec({ args: ['/bin/sh'], terminal: true, consoleSize: { rows: 0, cols: 80 } }), /terminal size 0x80/);
  refused(t, () => defaultSpec({ args: ['/bin/true'], user: { uid: -1, gid: 0 } }), /user id -1/);
});

test('attachSocketPath: <root>/<id>/attach.sock, with the id validated', (t) => {
  t.is(attachSocketPath('/run/berth', 'c1'), '/run/berth/c1/attach.sock');
  t.throws(() => attachSocketPath('/run/berth', '../x'), { instanceOf: BerthError });
  t.throws(() => attachSocketPath('run', 'c1'), { instanceOf: BerthError });
});

test('runtimeArgv: exec with a terminal over pipes: -t, its size, the resize fd and the user before the id', (t) => {
  const g = { root: '/run/berth' };
  t.deepEqual(
    runtimeArgv(g, { command: 'exec', id: 'a', args: ['/bin/sh'], tty: true, ttySize: { rows: 24, cols: 80 }, resizeFd: 3, user: { uid: 1, gid: 2 } }),
    ['--root', '/run/berth', '--log-format=json', 'exec', '--tty', '--tty-size', '24x80', '--resize-fd', '3', '--user', '1:2', 'a', '/bin/sh'],
  );
  refused(t, () => runtimeArgv(g, { command: 'exec', id: 'a', args: ['x'], tty: true, ttySize: { rows: 1, cols: 70000 } }), /terminal size/);
  refused(t, () => runtimeArgv(g, { command: 'exec', id: 'a', args: ['x'], resizeFd: 1 }), /resize fd 1/);
  refused(t, () => runtimeArgv(g, { command: 'exec', id: 'a', args: ['x'], user: { uid: 1.5, gid: 0 } }), /user 1.5:0/);
});
