/**
 * berth-runtime's lifecycle, for real: create, start, state, kill, delete, run, exec, ps,
 * list, the monitor and its log, hooks and errors. Every test ends with a leak check.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { readFile, readdir, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '../../helpers/http.js';
import { containerId, leftovers, makeBundle, readJsonLines, runtimeError, useRuntime } from '../../helpers/runtime.js';

interface State {
  ociVersion: string;
  id: string;
  status: 'creating' | 'created' | 'running' | 'stopped';
  pid: number;
  bundle: string;
  annotations: Record<string, string>;
  exitCode?: number;
}

test('create → created, start → running, kill → stopped with its exit code, delete → nothing left', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'signals']);
  const id = containerId();

  const created = rt.run(['create', '--bundle', b.dir, id]);
  t.is(created.status, 0, created.stderr);
  let state = JSON.parse(rt.run(['state', id]).stdout) as State;
  t.is(state.status, 'created');
  t.true(state.pid > 0);
  t.is(state.bundle, b.dir);
  t.is(state.ociVersion, '1.2.0');
  t.true(existsSync(`/proc/${state.pid}`), 'the container process exists while created');

  const started = rt.run(['start', id]);
  t.is(started.status, 0, started.stderr);
  state = JSON.parse(rt.run(['state', id]).stdout) as State;
  t.is(state.status, 'running');
  t.is(rt.run(['start', id]).status, 1, 'a running container cannot be started again');

  const ps = rt.run(['ps', '--format', 'json', id]);
  t.deepEqual(JSON.parse(ps.stdout), [state.pid]);

  t.is(rt.run(['kill', id, 'TERM']).status, 0);
  state = await waitFor('the container to stop', async () => {
    const s = JSON.parse(rt.run(['state', id]).stdout) as State;
    return s.status === 'stopped' && s.exitCode !== undefined ? s : undefined;
  });
  t.is(state.exitCode, 0, 'the probe exits 0 on SIGTERM');
  t.is(state.pid, 0);

  const deleted = rt.run(['delete', id]);
  t.is(deleted.status, 0, deleted.stderr);
  t.false(existsSync(join(rt.root, id)));
  t.is(rt.run(['state', id]).status, 1);
  t.deepEqual(leftovers(id), []);
});

test("run in the foreground exits with the container's status and deletes it", async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'exit', '3']);
  const id = containerId();
  const r = rt.run(['run', '--bundle', b.dir, id]);
  t.is(r.status, 3, r.stderr);
  t.false(existsSync(join(rt.root, id)));
  t.deepEqual(leftovers(id), []);

  const echo = await makeBundle(t, ['/probe', 'echo', 'hello from inside']);
  const out = rt.run(['run', '--bundle', echo.dir, containerId()]);
  t.is(out.status, 0, out.stderr);
  t.is(out.stdout, 'hello from inside\n');
});

test('a program that does not exist: create fails naming it; run exits 127', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/nope']);
  const id = containerId();
  const created = rt.run(['create', '--bundle', b.dir, id]);
  t.is(created.status, 1);
  t.regex(runtimeError(created.stderr)?.msg ?? '', /exec \/nope: No such file or directory/);
  t.false(existsSync(join(rt.root, id)), 'a failed create leaves no state');
  t.deepEqual(leftovers(id), []);

  const run = rt.run(['run', '--bundle', b.dir, id]);
  t.is(run.status, 127);
  t.regex(run.stderr, /exec \/nope: No such file or directory/);
  t.deepEqual(leftovers(id), []);
});

test('bad input: an id with a bad character, a duplicate id, a missing bundle, deleting a running container', async (t) => {
  const rt = await useRuntime(t);
  const bad = rt.run(['create', '--bundle', '/nonexistent', 'a/b']);
  t.is(bad.status, 1);
  t.regex(runtimeError(bad.stderr)?.msg ?? '', /'\/' at position 1/);

  const missing = rt.run(['create', '--bundle', '/nonexistent-bundle', containerId()]);
  t.is(missing.status, 1);
  t.regex(runtimeError(missing.stderr)?.msg ?? '', /nonexistent-bundle.*No such file or directory/);

  const b = await makeBundle(t, ['/probe', 'sleep', '60']);
  const id = containerId();
  t.is(rt.run(['run', '-d', '--bundle', b.dir, id]).status, 0);
  const dup = rt.run(['create', '--bundle', b.dir, id]);
  t.is(dup.status, 1);
  t.regex(runtimeError(dup.stderr)?.msg ?? '', new RegExp(`container \`${id}\` already exists`));
  t.is((JSON.parse(rt.run(['state', id]).stdout) as State).status, 'running', 'the duplicate did not touch the first');

  const del = rt.run(['delete', id]);
  t.is(del.status, 1);
  t.regex(runtimeError(del.stderr)?.msg ?? '', /is running: stop it first/);
  t.is(rt.run(['delete', '--force', id]).status, 0);
  t.deepEqual(leftovers(id), []);

  const usage = rt.run(['kill']);
  t.is(usage.status, 2);
  const badSignal = rt.run(['kill', id, 'NOPE']);
  t.is(badSignal.status, 2);
});

test('the monitor owns the output: JSON lines in the log, the exit status kept after the caller is gone', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'lines', '50']);
  const id = containerId();
  t.is(rt.run(['run', '-d', '--bundle', b.dir, id]).status, 0);
  const state = await waitFor('the container to finish', async () => {
    const s = JSON.parse(rt.run(['state', id]).stdout) as State;
    return s.status === 'stopped' && s.exitCode !== undefined ? s : undefined;
  });
  t.is(state.exitCode, 0);
  const lines = await readJsonLines(join(rt.root, id, 'container.log'));
  t.is(lines.length, 50);
  t.like(lines[0], { stream: 'stdout' });
  t.regex(String(lines[0]?.log), /\n$/);
  t.regex(String(lines[0]?.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  t.is(rt.run(['delete', id]).status, 0);
  t.deepEqual(leftovers(id), []);
});

test("exec runs in the container's namespaces and returns the exit status", async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'sleep', '60'], (c) => {
    c.hostname = 'inside';
  });
  const id = containerId();
  t.is(rt.run(['run', '-d', '--bundle', b.dir, id]).status, 0);
  const report = rt.run(['exec', id, '/probe', 'report']);
  t.is(report.status, 0, report.stderr);
  const r = JSON.parse(report.stdout) as { hostname: string; pid: number };
  t.is(r.hostname, 'inside');
  t.true(r.pid > 1, "a new process in the container's pid namespace");
  t.is(rt.run(['exec', id, '/probe', 'exit', '7']).status, 7);
  const env = rt.run(['exec', '--env', 'GREETING=hi', id, '/bin/sh', '-c', 'echo $GREETING']);
  t.is(env.stdout, 'hi\n');
  const missing = rt.run(['exec', id, '/nope']);
  t.is(missing.status, 127);
  t.regex(missing.stderr, /exec \/nope: No such file or directory/);
  t.is(rt.run(['delete', '--force', id]).status, 0);
  t.deepEqual(leftovers(id), []);
});

test('hooks: createRuntime and poststop run with the state on stdin', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'exit', '0']);
  const hook = join(b.dir, 'hook.sh');
  await writeFile(hook, '#!/bin/sh\ncat > "$1"\n');
  await chmod(hook, 0o755);
  b.config.hooks = {
    createRuntime: [{ path: hook, args: ['hook.sh', join(b.dir, 'create-runtime.json')] }],
    poststop: [{ path: hook, args: ['hook.sh', join(b.dir, 'poststop.json')] }],
  };
  await b.save();
  const id = containerId();
  t.is(rt.run(['run', '--bundle', b.dir, id]).status, 0);
  const created = JSON.parse(await readFile(join(b.dir, 'create-runtime.json'), 'utf8')) as State;
  t.like(created, { id, status: 'creating', bundle: b.dir });
  t.true(created.pid > 0);
  const stopped = JSON.parse(await readFile(join(b.dir, 'poststop.json'), 'utf8')) as State;
  t.like(stopped, { id, status: 'stopped' });

  // A failing create hook fails create, and the lifecycle goes on to delete: poststop runs.
  const afterFailure = join(b.dir, 'poststop-after-failure.json');
  b.config.hooks = { createRuntime: [{ path: '/bin/false' }], poststop: [{ path: hook, args: ['hook.sh', afterFailure] }] };
  await b.save();
  const failing = rt.run(['create', '--bundle', b.dir, id]);
  t.is(failing.status, 1);
  t.regex(runtimeError(failing.stderr)?.msg ?? '', /hook createRuntime\[0\] \/bin\/false: exited with status 1/);
  t.like(JSON.parse(await readFile(afterFailure, 'utf8')) as State, { id, status: 'stopped' });
  t.deepEqual(leftovers(id), []);
  await rm(afterFailure);
  const failingRun = rt.run(['run', '--bundle', b.dir, id]);
  t.is(failingRun.status, 1);
  t.like(JSON.parse(await readFile(afterFailure, 'utf8')) as State, { id, status: 'stopped' }, 'run in the foreground too');
  t.deepEqual(leftovers(id), []);
});

test('list shows containers with their status', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'sleep', '60']);
  const a = containerId();
  const c = containerId();
  t.is(rt.run(['create', '--bundle', b.dir, a]).status, 0);
  t.is(rt.run(['run', '-d', '--bundle', b.dir, c]).status, 0);
  const list = JSON.parse(rt.run(['list', '--format', 'json']).stdout) as State[];
  t.deepEqual(
    list.map((s) => [s.id, s.status]).sort(),
    [
      [a, 'created'],
      [c, 'running'],
    ].sort(),
  );
  t.regex(rt.run(['list']).stdout, new RegExp(`^${a}\\s+\\d+\\s+created`, 'm'));
  for (const id of [a, c]) t.is(rt.run(['delete', '--force', id]).status, 0);
  t.deepEqual([...leftovers(a), ...leftovers(c)], []);
});

test("a namespace joined by path: the second container shares the first one's network namespace", async (t) => {
  const rt = await useRuntime(t);
  const a = containerId();
  const first = await makeBundle(t, ['/probe', 'sleep', '60']);
  t.is(rt.run(['run', '-d', '--bundle', first.dir, a]).status, 0);
  const pid = (JSON.parse(rt.run(['state', a]).stdout) as State).pid;
  const second = await makeBundle(t, ['/probe', 'report'], (c) => {
    c.linux.namespaces = c.linux.namespaces.map((ns) => (ns.type === 'network' ? { type: 'network', path: `/proc/${pid}/ns/net` } : ns));
  });
  const b = containerId();
  const r = rt.run(['run', '--bundle', second.dir, b]);
  t.is(r.status, 0, r.stderr);
  const theirs = JSON.parse(rt.run(['exec', a, '/probe', 'report']).stdout) as { namespaces: Record<string, number> };
  const ours = JSON.parse(r.stdout) as { namespaces: Record<string, number> };
  t.is(ours.namespaces.net, theirs.namespaces.net);
  t.not(ours.namespaces.uts, theirs.namespaces.uts, 'the other namespaces are its own');
  t.is(rt.run(['delete', '--force', a]).status, 0);
  t.deepEqual([...leftovers(a), ...leftovers(b)], []);
});

test('what is not implemented yet is refused naming the field, and nothing is left', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'exit', '0'], (c) => {
    c.linux.resources = { blockIO: { weight: 10 } };
  });
  const id = containerId();
  const r = rt.run(['create', '--bundle', b.dir, id]);
  t.is(r.status, 1);
  t.regex(runtimeError(r.stderr)?.msg ?? '', /linux\.resources\.blockIO is not supported by berth-runtime; remove it/);
  t.false(existsSync(join(rt.root, id)));
  b.config.linux.resources = undefined;
  b.config.process.args = [];
  await b.save();
  const empty = rt.run(['create', '--bundle', b.dir, id]);
  t.is(empty.status, 1);
  t.regex(runtimeError(empty.stderr)?.msg ?? '', /process\.args/);
  t.deepEqual(leftovers(id), []);
});

test('concurrent creates and deletes do not trip over each other (the shared /berth cgroup parent comes and goes)', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'sleep', '60']);
  const runAsync = (args: string[]) =>
    new Promise<number | null>((resolve) => {
      const child = rt.spawnRun(args);
      child.once('close', (code) => resolve(code));
    });
  for (let round = 0; round < 2; round++) {
    const ids = Array.from({ length: 8 }, () => containerId());
    const started = await Promise.all(ids.map((id) => runAsync(['run', '-d', '--bundle', b.dir, id])));
    t.deepEqual(
      started,
      ids.map(() => 0),
      `round ${round}: every create succeeded`,
    );
    const deleted = await Promise.all(ids.map((id) => runAsync(['delete', '--force', id])));
    t.deepEqual(
      deleted,
      ids.map(() => 0),
      `round ${round}: every delete succeeded`,
    );
    t.deepEqual(
      ids.flatMap((id) => leftovers(id)),
      [],
    );
  }
});

test('every hook kind runs at its point of the lifecycle, in order', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/bin/sh', '-c', 'echo program >> /hooklog; sleep 60']);
  const log = join(b.rootfs, 'hooklog');
  // Hooks that run in the runtime's mount namespace see the host path; startContainer runs
  // after pivot_root and resolves its path inside the container.
  const host = (name: string) => ({ path: '/bin/sh', args: ['sh', '-c', `echo ${name} >> ${log}`] });
  b.config.hooks = {
    prestart: [host('prestart')],
    createRuntime: [host('createRuntime')],
    createContainer: [host('createContainer')],
    startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo startContainer >> /hooklog'] }],
    poststart: [host('poststart')],
    poststop: [host('poststop')],
  };
  await b.save();
  const id = containerId();
  t.is(rt.run(['create', '--bundle', b.dir, id]).status, 0);
  t.deepEqual((await readFile(log, 'utf8')).trim().split('\n'), ['prestart', 'createRuntime', 'createContainer']);
  t.is(rt.run(['start', id]).status, 0);
  await waitFor('the program to start', async () => ((await readFile(log, 'utf8')).includes('program') ? true : undefined));
  t.is(rt.run(['delete', '--force', id]).status, 0);
  const lines = (await readFile(log, 'utf8')).trim().split('\n');
  t.deepEqual([...lines].sort(), ['createContainer', 'createRuntime', 'poststart', 'poststop', 'prestart', 'program', 'startContainer']);
  t.deepEqual(
    [...lines].sort((x, y) => order(x) - order(y)),
    lines,
    `in lifecycle order: ${lines.join(', ')}`,
  );
  t.deepEqual(leftovers(id), []);
});

// poststart runs in the runtime after start returns and the program in the container: their
// relative order is not fixed, so compare by lifecycle rank with the two as equals.
function order(name: string): number {
  return ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'].indexOf(name === 'program' ? 'poststart' : name);
}

test('the log rotates by size and keeps the configured number of files', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'lines', '400'], (c) => {
    c.annotations = { 'berth.log.max-size': '4k', 'berth.log.max-files': '2' };
  });
  const id = containerId();
  t.is(rt.run(['run', '-d', '--bundle', b.dir, id]).status, 0);
  await waitFor('the container to stop', async () => ((JSON.parse(rt.run(['state', id]).stdout) as State).status === 'stopped' ? true : undefined));
  const files = (await readdir(join(rt.root, id))).filter((f) => f.startsWith('container.log')).sort();
  t.deepEqual(files, ['container.log', 'container.log.1']);
  for (const f of files) t.true((await stat(join(rt.root, id, f))).size <= 4096, f);
  const last = await readJsonLines(join(rt.root, id, 'container.log'));
  t.regex(String(last.at(-1)?.log), /400/, 'the newest lines are in container.log');
  t.is(rt.run(['delete', id]).status, 0);
  t.deepEqual(leftovers(id), []);
});

test("an rlimit above what the host can grant is lowered to the host's hard limit, with a warning", async (t) => {
  const rt = await useRuntime(t);
  const hostHard = Number.parseInt(/Max open files\s+\S+\s+(\S+)/.exec(await readFile('/proc/self/limits', 'utf8'))?.[1] ?? '0', 10);
  const b = await makeBundle(t, ['/bin/sh', '-c', 'ulimit -Hn; ulimit -Sn'], (c) => {
    c.process.rlimits = [{ type: 'RLIMIT_NOFILE', hard: hostHard * 64, soft: 512 }];
  });
  const r = rt.run(['run', '--bundle', b.dir, containerId()]);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, `${hostHard}\n512\n`);
  // useRuntime passes --log-format=json: the warning is a JSON line too.
  const warning = r.stderr
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { level: string; msg: string })
    .find((l) => l.level === 'warning');
  t.regex(warning?.msg ?? '', new RegExp(`RLIMIT_NOFILE hard limit ${hostHard * 64} is above this host's ${hostHard}.*using ${hostHard}`), r.stderr);
});

test('a failing startContainer hook fails start with its message; poststop runs after the container is gone', async (t) => {
  const rt = await useRuntime(t);
  const b = await makeBundle(t, ['/probe', 'sleep', '60']);
  const seen = join(b.dir, 'poststop-saw');
  const id = containerId();
  b.config.hooks = {
    startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo no database >&2; exit 3'] }],
    poststop: [
      { path: '/bin/sh', args: ['sh', '-c', `if [ -e "$0" ]; then echo state-dir-present; else echo state-dir-gone; fi > ${seen}`, join(rt.root, id)] },
    ],
  };
  await b.save();
  t.is(rt.run(['create', '--bundle', b.dir, id]).status, 0);
  const r = rt.run(['start', id]);
  t.is(r.status, 1, r.stderr);
  t.regex(runtimeError(r.stderr)?.msg ?? '', new RegExp(`container \`${id}\` failed to start: .*startContainer.*`));
  t.regex(r.stderr, /hook startContainer\[0\] \/bin\/sh: exited with status 3/);
  t.is(JSON.parse(rt.run(['state', id]).stdout).status, 'stopped');
  t.is(rt.run(['delete', id]).status, 0);
  t.is((await readFile(seen, 'utf8')).trim(), 'state-dir-gone');
  t.deepEqual(leftovers(id), []);
});
