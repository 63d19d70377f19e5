/**
 * `berth container:*`: Docker's container commands, flags, words and columns, through the
 * daemon's API (docs/containers.md). `run` without -d creates, attaches, THEN starts, so no
 * output is lost; `run` and `exec` exit with the program's status (125 when Berth fails
 * before the program runs, 126/127 when it cannot be executed or found, as Docker).
 */
import { Command, CommanderError, Option } from '@commander-js/extra-typings';
import type { ContainerStats, ContainerView, ImageView, LogLine, RemoveResult } from '../../api/index.js';
import { BerthError, cannotRunStatus, renderError, toBerthError } from '../../core/index.js';
import { apiFetch, apiRequest } from '../client.js';
import { readEnvelopes } from '../lib/ndjson.js';
import { collect, collectWith, parseChanges, parseCount, parseCpus, parseEnv, parseLabels, parseMemory, parsePublish } from '../container-options.js';
import { renderContainers, shortId, statsHeader, statsRow, table } from '../container-table.js';
import { resolveSettings } from '../settings.js';
import { containerPath, session, statusOf } from '../container-session.js';
import { localTerminal, type RelayResult } from '../stream.js';

/** Docker's status when the engine, not the program, failed. */
export const BERTH_FAILED_EXIT = 125;

const ref = containerPath;

/**
 * The status for a failure before the program ran: 127 not found, 126 not executable (from
 * the failing exec's errno in the start failure's details: core cannotRunStatus), else 125.
 */
export function failureStatus(err: BerthError): number {
  return (err.code === 'E_CONTAINER_START_FAILED' ? cannotRunStatus(err.details) : undefined) ?? BERTH_FAILED_EXIT;
}

/** Run an action; an error is printed as the other commands print it, with Docker's status. */
async function dockerStatus(action: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await action();
  } catch (err) {
    const e = toBerthError(err);
    process.stderr.write(`${renderError(e)}\n`);
    process.exitCode = failureStatus(e);
  }
}

/** For commands taking several refs (stop, kill, rm): go on after a failure, exit 1 at the end (Docker). */
async function eachRef(refs: readonly string[], one: (r: string) => Promise<void>): Promise<void> {
  let failed = false;
  for (const r of refs) {
    try {
      await one(r);
    } catch (err) {
      failed = true;
      process.stderr.write(`${renderError(toBerthError(err))}\n`);
    }
  }
  if (failed) process.exitCode = 1;
}

/** Docker's usage errors for run and exec exit 125, not the CLI's usual 2. */
function dockerUsage(command: Command<any, any, any>): Command<any, any, any> {
  return command.exitOverride((err) => {
    throw err.exitCode === 0 ? err : new CommanderError(BERTH_FAILED_EXIT, err.code, err.message);
  });
}

const run = new Command('container:run')
  .description('create a container from an image and run it (Docker\'s run)')
  .argument('<image>', 'the image: name[:tag] or a digest')
  .argument('[command...]', 'the command and its arguments (default: the image\'s)')
  .option('-d, --detach', 'run in the background and print the container\'s id')
  .option('-i, --interactive', 'keep stdin open and send yours to it')
  .option('-t, --tty', 'give the container a terminal')
  .option('--rm', 'remove the container when it exits')
  .option('-e, --env <K=V>', 'set a variable (-e K takes K from your environment); repeatable', collect, [] as string[])
  .option('--name <name>', 'name the container')
  .option('-m, --memory <size>', 'memory limit: a number with b, k, m or g (512m, 1g)', parseMemory)
  .option('--cpus <n>', 'CPU limit: a decimal number of CPUs (0.5, 2)', parseCpus)
  .option('--pids-limit <n>', 'how many processes it may have', parseCount)
  .option('-p, --publish <HOST:PORT>', 'publish a container port on the host\'s 127.0.0.1; repeatable', collectWith(parsePublish), [] as { hostPort: number; containerPort: number }[])
  .option('-w, --workdir <dir>', 'the working directory inside the container')
  .option('-u, --user <user>', 'user[:group] (names or numbers) to run as')
  .option('--entrypoint <cmd>', 'override the image\'s entrypoint ("" clears it)')
  .option('-l, --label <k=v>', 'set a label; repeatable', collect, [] as string[])
  .passThroughOptions()
  .action(async (image, command, o) =>
    dockerStatus(async () => {
      const settings = resolveSettings();
      const body = {
        image,
        ...(command.length > 0 ? { cmd: command } : {}),
        ...(o.entrypoint === undefined ? {} : { entrypoint: o.entrypoint === '' ? [] : [o.entrypoint] }),
        ...(o.env.length > 0 ? { env: parseEnv(o.env) } : {}),
        ...(o.name === undefined ? {} : { name: o.name }),
        tty: o.tty === true,
        stdin: o.interactive === true,
        rm: o.rm === true,
        ...(o.workdir === undefined ? {} : { workdir: o.workdir }),
        ...(o.user === undefined ? {} : { user: o.user }),
        ...(o.memory === undefined ? {} : { memory: o.memory }),
        ...(o.cpus === undefined ? {} : { cpus: o.cpus }),
        ...(o.pidsLimit === undefined ? {} : { pids: o.pidsLimit }),
        ...(o.publish.length > 0 ? { publish: o.publish } : {}),
        ...(o.label.length > 0 ? { labels: parseLabels(o.label) } : {}),
      };
      const created = await apiRequest<ContainerView>(settings, 'POST', '/v1/containers', body);
      let started = false;
      const start = async () => {
        try {
          await apiRequest<ContainerView>(settings, 'POST', `${ref(created.id)}/start`);
          started = true;
        } catch (err) {
          if (o.rm) await apiRequest(settings, 'DELETE', `${ref(created.id)}?force=true`).catch(() => undefined);
          throw err;
        }
      };
      if (o.detach) {
        await start();
        process.stdout.write(`${created.id}\n`);
        return 0;
      }
      let r: RelayResult;
      try {
        r = await session(settings, `${ref(created.id)}/attach`, { interactive: o.interactive === true, tty: o.tty === true, afterOpen: start, signalsTo: created.id });
      } catch (err) {
        // The attach failed before the start: nothing ran; --rm means nothing is left either.
        if (o.rm && !started) await apiRequest(settings, 'DELETE', `${ref(created.id)}?force=true`).catch(() => undefined);
        throw err;
      }
      return statusOf(settings, created.id, r);
    }),
  );

const ls = new Command('container:ls')
  .alias('container:ps')
  .description('list containers (running ones; -a for all)')
  .option('-a, --all', 'also the ones that are not running')
  .option('-q, --quiet', 'print only the ids')
  .option('--no-trunc', 'full ids and commands')
  .addOption(new Option('--format <format>', 'output format').choices(['text', 'json'] as const).default('text' as const))
  .action(async (o) => {
    const list = await apiRequest<ContainerView[]>(resolveSettings(), 'GET', `/v1/containers${o.all ? '?all=true' : ''}`);
    if (o.format === 'json') process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    else if (o.quiet) process.stdout.write(list.map((c) => `${o.trunc ? shortId(c.id) : c.id}\n`).join(''));
    else process.stdout.write(`${renderContainers(list, { noTrunc: !o.trunc })}\n`);
  });

const start = new Command('container:start')
  .description('start stopped containers (changes in their filesystem are kept)')
  .argument('<container...>', 'id, id prefix or name')
  .option('-a, --attach', 'attach stdout and stderr and exit with the container\'s status')
  .option('-i, --interactive', 'attach stdin too')
  .action(async (refs, o) => {
    const settings = resolveSettings();
    if (!o.attach && !o.interactive) {
      await eachRef(refs, async (r) => {
        await apiRequest<ContainerView>(settings, 'POST', `${ref(r)}/start`);
        process.stdout.write(`${r}\n`);
      });
      return;
    }
    await dockerStatus(async () => {
      if (refs.length !== 1) throw new BerthError('E_CLI_USAGE', 'container:start -a attaches to one container; name only one');
      const v = await apiRequest<ContainerView>(settings, 'GET', ref(refs[0]!));
      const r = await session(settings, `${ref(v.id)}/attach`, {
        interactive: o.interactive === true,
        tty: v.tty,
        afterOpen: async () => void (await apiRequest<ContainerView>(settings, 'POST', `${ref(v.id)}/start`)),
        signalsTo: v.id,
      });
      return statusOf(settings, v.id, r);
    });
  });

const stop = new Command('container:stop')
  .description('stop running containers: SIGTERM, then SIGKILL after the timeout')
  .argument('<container...>')
  .option('-t, --time <seconds>', 'seconds to wait before SIGKILL', parseCount, 10)
  .action(async (refs, o) => {
    const settings = resolveSettings();
    await eachRef(refs, async (r) => {
      await apiRequest<ContainerView>(settings, 'POST', `${ref(r)}/stop?timeout=${o.time}`, undefined, (o.time + 30) * 1000);
      process.stdout.write(`${r}\n`);
    });
  });

const kill = new Command('container:kill')
  .description('send a signal to running containers (SIGKILL by default)')
  .argument('<container...>')
  .option('-s, --signal <signal>', 'signal name or number', 'KILL')
  .action(async (refs, o) => {
    const settings = resolveSettings();
    await eachRef(refs, async (r) => {
      await apiRequest<ContainerView>(settings, 'POST', `${ref(r)}/kill?signal=${encodeURIComponent(o.signal.replace(/^SIG/i, ''))}`);
      process.stdout.write(`${r}\n`);
    });
  });

const rm = new Command('container:rm')
  .description('remove containers (-f also a running one, killing it)')
  .argument('<container...>')
  .option('-f, --force', 'kill a running container first')
  .action(async (refs, o) => {
    const settings = resolveSettings();
    await eachRef(refs, async (r) => {
      await apiRequest<RemoveResult>(settings, 'DELETE', `${ref(r)}${o.force ? '?force=true' : ''}`);
      process.stdout.write(`${r}\n`);
    });
  });

const logs = new Command('container:logs')
  .description('print a container\'s output (its log survives stop and start)')
  .argument('<container>')
  .option('-f, --follow', 'keep printing until the container stops')
  .option('--tail <n>', 'only the last N lines ("all" for every line)', 'all')
  .option('-t, --timestamps', 'prefix each line with its time')
  .action(async (r, o) => {
    if (o.tail !== 'all' && !/^\d+$/.test(o.tail)) throw new BerthError('E_CLI_USAGE', `--tail ${JSON.stringify(o.tail)} is not a number of lines or "all"`);
    const query = [o.follow ? 'follow=true' : '', o.tail === 'all' ? '' : `tail=${o.tail}`].filter(Boolean).join('&');
    const res = await apiFetch(resolveSettings(), 'GET', `${ref(r)}/logs${query ? `?${query}` : ''}`);
    for await (const e of readEnvelopes<never, LogLine>(res.body as AsyncIterable<Uint8Array> | null, `GET ${ref(r)}/logs`)) {
      if (!('line' in e)) continue;
      const l = e.line;
      (l.stream === 'stderr' ? process.stderr : process.stdout).write(o.timestamps ? `${l.time} ${l.log}` : l.log);
    }
  });

const exec = new Command('container:exec')
  .description('run a command in a running container')
  .argument('<container>')
  .argument('<command...>')
  .option('-i, --interactive', 'send your stdin to it')
  .option('-t, --tty', 'give it a terminal')
  .option('-e, --env <K=V>', 'set a variable; repeatable', collect, [] as string[])
  .option('-w, --workdir <dir>', 'working directory')
  .option('-u, --user <user>', 'user[:group] to run as')
  .passThroughOptions()
  .action(async (r, command, o) =>
    dockerStatus(async () => {
      const settings = resolveSettings();
      const size = o.tty ? localTerminal().size() : undefined;
      const env = parseEnv(o.env);
      const query = new URLSearchParams({ cmd: JSON.stringify(command) });
      if (o.tty) query.set('tty', 'true');
      if (env.length > 0) query.set('env', JSON.stringify(env));
      if (o.workdir !== undefined) query.set('workdir', o.workdir);
      if (o.user !== undefined) query.set('user', o.user);
      if (size) {
        query.set('rows', String(size.rows));
        query.set('cols', String(size.cols));
      }
      const result = await session(settings, `${ref(r)}/exec?${query}`, { interactive: o.interactive === true, tty: o.tty === true, closeStdinAtOnce: !o.interactive });
      if (result.kind === 'detached') return 0;
      if (result.kind === 'exit') return result.status.exitCode;
      throw new BerthError('E_CLI_BAD_RESPONSE', 'the exec stream ended without the command\'s exit status');
    }),
  );

const commit = new Command('container:commit')
  .description('make an image of a container\'s changes')
  .argument('<container>')
  .argument('[repository]', 'REPOSITORY[:TAG] to tag the image with')
  .option('-m, --message <message>', 'commit message')
  .option('-a, --author <author>', 'author ("Name <email>")')
  .option('-c, --change <instruction>', 'CMD, ENTRYPOINT, ENV, WORKDIR, EXPOSE or LABEL, as in a Dockerfile; repeatable', collect, [] as string[])
  .action(async (r, repository, o) => {
    const changes = parseChanges(o.change);
    const body = {
      ...(repository === undefined ? {} : { reference: repository }),
      ...(o.message === undefined ? {} : { message: o.message }),
      ...(o.author === undefined ? {} : { author: o.author }),
      ...(Object.keys(changes).length > 0 ? { changes } : {}),
    };
    const view = await apiRequest<ImageView>(resolveSettings(), 'POST', `${ref(r)}/commit`, body, 10 * 60_000);
    process.stdout.write(`${view.configDigest}\n`);
  });

const inspect = new Command('container:inspect')
  .description('show containers as JSON (config, state, limits, network)')
  .argument('<container...>')
  .action(async (refs) => {
    const settings = resolveSettings();
    const found: ContainerView[] = [];
    await eachRef(refs, async (r) => void found.push(await apiRequest<ContainerView>(settings, 'GET', ref(r))));
    process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
  });

const stats = new Command('container:stats')
  .description('show running containers\' CPU, memory and process counts')
  .argument('<container...>')
  .option('--no-stream', 'print once and exit')
  .action(async (refs, o) => {
    const settings = resolveSettings();
    const views = await Promise.all(refs.map((r) => apiRequest<ContainerView>(settings, 'GET', ref(r))));
    const sample = () => Promise.all(views.map((v) => apiRequest<ContainerStats>(settings, 'GET', `${ref(v.id)}/stats`)));
    let before = await sample();
    let at = Date.now();
    for (let first = true; ; first = false) {
      await new Promise((res) => setTimeout(res, first ? 500 : 1000));
      const now = await sample();
      const t = Date.now();
      const text = table([statsHeader, ...views.map((v, i) => statsRow(v.name, before[i]!, now[i]!, t - at))]);
      if (o.stream && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
      process.stdout.write(`${text}\n`);
      if (!o.stream) return;
      before = now;
      at = t;
    }
  });

export const containerCommands = [run, ls, start, stop, kill, rm, logs, exec, commit, inspect, stats];

/** Commands that exit 125 on a usage error, as Docker's run and exec do. */
export const dockerStatusCommands = new Set<Command<any, any, any>>([run, exec]);
export { dockerUsage };
