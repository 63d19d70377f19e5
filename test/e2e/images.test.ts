/**
 * `berth images` and `berth image:*` through the real daemon and the built CLI: a base
 * image, inspect and history, tag, push to and pull from a loopback docker-registry,
 * export read by skopeo, remove, prune, import; errors as the CLI renders them.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cliPath, runCli, startTestDaemon } from '../helpers/start-daemon.js';
import { skopeo } from '../helpers/skopeo.js';
import { startRegistry } from '../helpers/start-registry.js';
import { sha256 } from '../../server/images/digest.js';

interface View {
  digest: string;
  configDigest: string;
  tags: string[];
  layers: { digest: string; diffId: string }[];
  config: { Cmd?: string[] };
}

test('images through the CLI: base, inspect, history, tag, push, export, rm, prune, import, pull', async (t) => {
  const d = await startTestDaemon(t);
  const reg = await startRegistry(t);
  const cli = async (...args: string[]) => {
    const r = await runCli(args, d.env);
    t.is(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  t.regex(await cli('image:base', 'busybox'), /^busybox:latest sha256:[0-9a-f]{64}\n$/);
  t.regex(await cli('images'), /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\nbusybox\s+latest\s+[0-9a-f]{12}\s+.+ ago\s+\d[\d.]*MB$/m);
  const view = JSON.parse(await cli('image:inspect', 'busybox')) as View;
  t.deepEqual(view.config.Cmd, ['sh']);
  t.regex(await cli('image:history', 'busybox'), /berth: BusyBox v/);

  const remote = `${reg.host}/e2e/busybox:v1`;
  await cli('image:tag', 'busybox', remote);
  const pushed = await cli('image:push', remote);
  t.regex(pushed, /: Pushed\n/);
  t.regex(pushed, new RegExp(`digest: ${view.digest} \\(2 blobs pushed, 0 already there\\)`));
  t.is(sha256(skopeo(['inspect', '--tls-verify=false', '--raw', `docker://${remote}`])), view.digest);
  // The same image to another repository of the registry: its blobs are mounted, not sent.
  const copy = `${reg.host}/e2e/copy:v1`;
  await cli('image:tag', 'busybox', copy);
  const mounted = await cli('image:push', copy);
  t.regex(mounted, /: Mounted from e2e\/busybox\n/);
  t.regex(mounted, /\(0 blobs pushed, 0 already there, 2 mounted from another repository\)/);
  t.regex(await cli('image:rm', copy), /Untagged: /);

  const archive = join(d.home, '..', 'busybox.docker.tar');
  await cli('image:export', 'busybox', '-o', archive, '--format', 'docker-archive');
  t.is(sha256(skopeo(['inspect', '--config', '--raw', `docker-archive:${archive}`])), view.configDigest);

  t.regex(await cli('image:rm', 'busybox', remote), /Untagged: busybox:latest/);
  t.is((await cli('images')).trim().split('\n').length, 1, 'only the header is left');
  t.regex(await cli('image:prune'), /^Deleted 3 blobs and 0 unpacked layers; reclaimed .+ of blobs$/m);

  t.regex(await cli('image:import', archive), /^Loaded image: busybox:latest$/m);
  const pulled = await cli('image:pull', remote);
  // The docker archive carried the config (same digest) and the layer uncompressed (another blob).
  t.regex(pulled, /: Already exists \(config\)\n/);
  t.regex(pulled, /: Download complete\n/);
  t.regex(pulled, new RegExp(`Digest: ${view.digest}`));
  t.regex(await cli('images'), new RegExp(`${reg.host.replace(/\./g, '\\.')}/e2e/busybox\\s+v1`));

  const missing = await runCli(['image:inspect', 'busybox:nope'], d.env);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /no image busybox:nope in the store \(tags of busybox: busybox:latest\)/);
  const bad = await runCli(['image:pull', 'Bad/Name'], d.env);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /image reference "Bad\/Name" is not valid/);
});

/** The built CLI with bytes on stdin; stdout as bytes. */
function cliWithInput(args: string[], env: NodeJS.ProcessEnv, input: Buffer | string): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
    child.stdin.end(input);
  });
}

test('registry credentials come from stdin, never argv; archives stream through stdin and stdout', async (t) => {
  const d = await startTestDaemon(t);
  const reg = await startRegistry(t, { users: { carol: 'pa ss' } });
  t.is((await runCli(['image:base', 'busybox'], d.env)).code, 0);
  const remote = `${reg.host}/carol/busybox:1`;
  t.is((await runCli(['image:tag', 'busybox', remote], d.env)).code, 0);

  const denied = await runCli(['image:push', remote], d.env);
  t.is(denied.code, 1);
  t.regex(denied.stderr, /asks for a user name and password/);
  const noStdin = await runCli(['image:push', remote, '-u', 'carol'], d.env);
  t.is(noStdin.code, 1);
  t.regex(noStdin.stderr, /--username needs --password-stdin/);
  const pushed = await cliWithInput(['image:push', remote, '-u', 'carol', '--password-stdin'], d.env, 'pa ss\n');
  t.is(pushed.code, 0, pushed.stderr);
  t.regex(pushed.stdout.toString(), /2 blobs pushed/);

  const exported = await cliWithInput(['image:export', 'busybox', '-o', '-'], d.env, '');
  t.is(exported.code, 0, exported.stderr);
  t.true(exported.stdout.length > 1_000_000);
  t.is((await runCli(['image:rm', 'busybox', remote], d.env)).code, 0);
  const imported = await cliWithInput(['image:import', '-', '--tag', 'again:1'], d.env, exported.stdout);
  t.is(imported.code, 0, imported.stderr);
  t.regex(imported.stdout.toString(), /^Loaded image: again:1, busybox:latest$/m);
  const pulled = await cliWithInput(['image:pull', remote, '-u', 'carol', '--password-stdin'], d.env, 'pa ss');
  t.is(pulled.code, 0, pulled.stderr);
  t.regex(pulled.stdout.toString(), /: Already exists\n/);
});
