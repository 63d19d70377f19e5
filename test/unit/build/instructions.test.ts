/**
 * The config-only instructions as pure functions: what each does to the config, its
 * history line, and its errors naming the line.
 */
import test from 'ava';
import { parseDockerfile } from '../../../server/build/index.js';
import { applyConfig, parseDuration, type Scope } from '../../../server/build/instructions.js';

function apply(line: string, config: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  const ins = parseDockerfile(`FROM x\n${line}\n`).stages[0]?.instructions[0];
  if (ins === undefined) throw new Error('no instruction');
  const scope: Scope = { file: 'Dockerfile', escape: '\\', env: new Map(Object.entries(env)), used: new Set(), shell: ['/bin/sh', '-c'], cmdSet: false };
  return { ...applyConfig(scope, ins, config), used: scope.used };
}

test('ENV: both forms, quotes and escapes, substitution from the environment before the instruction', (t) => {
  t.deepEqual(apply('ENV A=1 B="two words" C=x\\ y D=$HOME', { Env: ['A=0', 'HOME=/root'] }, { HOME: '/root' }).config.Env, [
    'A=1',
    'HOME=/root',
    'B=two words',
    'C=x y',
    'D=/root',
  ]);
  t.deepEqual(apply('ENV OLD  value with  spaces').config.Env, ['OLD=value with  spaces']);
  const r = apply("ENV P='$NOT' Q=${UNSET:-dflt}");
  t.deepEqual(r.config.Env, ['P=$NOT', 'Q=dflt']);
  t.deepEqual([...r.used], ['UNSET']);
  t.is(r.createdBy, '/bin/sh -c #(nop)  ENV P=$NOT Q=dflt');
  t.throws(() => apply('ENV A=1 B'), { message: /^Dockerfile:2: ENV: can't find = in "B"/ });
  t.throws(() => apply('ENV ONLY'), { message: /^Dockerfile:2: ENV: needs a name and a value/ });
});

test('LABEL merges; EXPOSE takes ranges and protocols; VOLUME its forms', (t) => {
  t.deepEqual(apply('LABEL "a b"=c d=e', { Labels: { d: 'old', z: '1' } }).config.Labels, { d: 'e', z: '1', 'a b': 'c' });
  t.deepEqual(apply('EXPOSE 80 8000-8002/udp 443/TCP').config.ExposedPorts, { '80/tcp': {}, '8000/udp': {}, '8001/udp': {}, '8002/udp': {}, '443/tcp': {} });
  t.throws(() => apply('EXPOSE 70000'), { message: /Dockerfile:2: EXPOSE: "70000" is not PORT/ });
  t.throws(() => apply('EXPOSE http'), { message: /"http" is not PORT/ });
  t.deepEqual(apply('VOLUME ["/a", "/b c"]').config.Volumes, { '/a': {}, '/b c': {} });
});

test('CMD and ENTRYPOINT: exec and shell forms; ENTRYPOINT clears a Cmd the stage did not set', (t) => {
  t.deepEqual(apply('CMD ["a", "b"]').config.Cmd, ['a', 'b']);
  t.deepEqual(apply('CMD echo $HOME').config.Cmd, ['/bin/sh', '-c', 'echo $HOME'], 'not substituted: the shell does that');
  t.is(apply('CMD ["a", "b c"]').createdBy, '/bin/sh -c #(nop)  CMD ["a" "b c"]');
  const e = apply('ENTRYPOINT ["/app"]', { Cmd: ['inherited'] });
  t.deepEqual([e.config.Entrypoint, e.config.Cmd], [['/app'], null]);
});

test('USER, STOPSIGNAL, MAINTAINER, ONBUILD, SHELL', (t) => {
  t.is(apply('USER ${U:-app}:staff').config.User, 'app:staff');
  t.throws(() => apply('USER a:b:c'), { message: /USER: "a:b:c" is not USER/ });
  t.is(apply('STOPSIGNAL 9').config.StopSignal, '9');
  t.throws(() => apply('STOPSIGNAL 99'), { message: /STOPSIGNAL: "99" is not a signal/ });
  t.throws(() => apply('STOPSIGNAL sig-term'), { message: /is not a signal/ });
  t.is(apply('MAINTAINER Ada <ada@example.com>').author, 'Ada <ada@example.com>');
  t.deepEqual(apply('ONBUILD COPY . /app', { OnBuild: ['RUN a'] }).config.OnBuild, ['RUN a', 'COPY . /app']);
  t.deepEqual(apply('SHELL ["/bin/bash", "-eo", "pipefail", "-c"]').shell, ['/bin/bash', '-eo', 'pipefail', '-c']);
});

test('HEALTHCHECK: CMD shell and exec forms, NONE, Go durations, and the errors', (t) => {
  t.deepEqual(
    (apply('HEALTHCHECK --interval=1m30s --start-period=500ms CMD ["curl", "-f", "http://localhost/"]').config as Record<string, unknown>).Healthcheck,
    {
      Test: ['CMD', 'curl', '-f', 'http://localhost/'],
      Interval: 90e9,
      StartPeriod: 500e6,
    },
  );
  t.deepEqual((apply('HEALTHCHECK cmd true').config as Record<string, unknown>).Healthcheck, { Test: ['CMD-SHELL', 'true'] });
  t.deepEqual((apply('HEALTHCHECK NONE').config as Record<string, unknown>).Healthcheck, { Test: ['NONE'] });
  t.throws(() => apply('HEALTHCHECK --interval=5 CMD true'), { message: /HEALTHCHECK: --interval=5 is not a duration/ });
  t.throws(() => apply('HEALTHCHECK --retries=x CMD true'), { message: /--retries=x/ });
  t.throws(() => apply('HEALTHCHECK SOMETIMES true'), { message: /the type must be CMD or NONE/ });
  t.throws(() => apply('HEALTHCHECK --interval=5s NONE'), { message: /NONE takes no other arguments/ });
  t.is(parseDuration('2h'), 7200e9);
  t.is(parseDuration('1.5s'), 1.5e9);
  t.is(parseDuration('10'), undefined);
});
