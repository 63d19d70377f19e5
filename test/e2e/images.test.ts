/**
 * `berth images` and `berth image:*` through the real daemon and the built CLI: a base
 * image, inspect and history, tag, push to and pull from a loopback docker-registry,
 * export read by skopeo, remove, prune, import; errors as the CLI renders them.
 */
import test from 'ava';
import { join } from 'node:path';
import { runCli, startTestDaemon } from '../helpers/start-daemon.js';
import { skopeo } from '../helpers/skopeo.js';
import { startRegistry } from '../helpers/start-registry.js';
import { sha256 } from '../../server/images/index.js';

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
