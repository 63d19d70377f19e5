import test from 'ava';
import { InvalidArgumentError } from '@commander-js/extra-typings';
import { parseEnv } from '../../../server/cli/commands/container/env.js';
import { parseChanges, parseCpus, parseLabels, parseMemory, parsePublish } from '../../../server/cli/commands/container/options.js';
import { main } from '../../../server/cli/program.js';

test("-m takes Docker's units (binary multiples)", (t) => {
  t.is(parseMemory('512m'), 512 * 1024 * 1024);
  t.is(parseMemory('1g'), 1024 ** 3);
  t.is(parseMemory('1G'), 1024 ** 3);
  t.is(parseMemory('64k'), 64 * 1024);
  t.is(parseMemory('100b'), 100);
  t.is(parseMemory('4096'), 4096);
  t.is(parseMemory('1.5g'), 1.5 * 1024 ** 3);
  t.is(parseMemory('256mb'), 256 * 1024 * 1024);
  t.is(parseMemory('256MiB'), 256 * 1024 * 1024);
  for (const bad of ['12x', '', 'm', '-1m', '0', '1 gigabyte', '1t']) {
    const e = t.throws(() => parseMemory(bad), { instanceOf: InvalidArgumentError }, bad);
    t.regex(e?.message ?? '', /not a size/, bad);
  }
});

test('--cpus is a decimal above zero', (t) => {
  t.is(parseCpus('1.5'), 1.5);
  t.is(parseCpus('2'), 2);
  t.is(parseCpus('.5'), 0.5);
  for (const bad of ['0', '-1', 'abc', '1,5', '']) t.throws(() => parseCpus(bad), { message: /not a number of CPUs/ }, bad);
});

test('-p HOST:PORT, published on loopback only', (t) => {
  t.deepEqual(parsePublish('8080:80'), { hostPort: 8080, containerPort: 80 });
  t.deepEqual(parsePublish('8080:80/tcp'), { hostPort: 8080, containerPort: 80 });
  t.deepEqual(parsePublish('127.0.0.1:8080:80'), { hostPort: 8080, containerPort: 80 });
  t.throws(() => parsePublish('80'), { message: /the host port is required/ });
  t.throws(() => parsePublish('0.0.0.0:8080:80'), { message: /127\.0\.0\.1 only/ });
  t.throws(() => parsePublish('53:53/udp'), { message: /only tcp/ });
  t.throws(() => parsePublish('70000:80'), { message: /"70000" is not a port/ });
  t.throws(() => parsePublish('a:80'), { message: /not a port/ });
});

test("-e K=V as given; -e K from the CLI's environment, left out when unset", (t) => {
  t.deepEqual(parseEnv(['A=1', 'B=x=y', 'C=', 'HOMEISH', 'UNSET'], { HOMEISH: '/root' }), ['A=1', 'B=x=y', 'C=', 'HOMEISH=/root']);
  t.throws(() => parseEnv(['=v']), { message: /the KEY is empty/ }); // core's entry rule (parseEnvEntry) words it
  t.deepEqual(parseLabels(['a=b', 'c', 'd=e=f']), { a: 'b', c: '', d: 'e=f' });
});

test('commit -c: Dockerfile instructions, the shell and JSON forms', (t) => {
  t.deepEqual(
    parseChanges([
      'CMD ["sh", "-c", "echo hi"]',
      'ENV A=1 B="two words"',
      'ENV OLD form value',
      'WORKDIR /srv',
      'EXPOSE 80 53/udp',
      'LABEL a=b',
      'ENTRYPOINT /bin/run --flag',
    ]),
    {
      cmd: ['sh', '-c', 'echo hi'],
      env: ['A=1', 'B=two words', 'OLD=form value'],
      workdir: '/srv',
      exposedPorts: ['80/tcp', '53/udp'],
      labels: { a: 'b' },
      entrypoint: ['/bin/sh', '-c', '/bin/run --flag'],
    },
  );
  t.deepEqual(parseChanges(['cmd echo hi']), { cmd: ['/bin/sh', '-c', 'echo hi'] });
  t.deepEqual(parseChanges([]), {});
  t.throws(() => parseChanges(['USER nobody']), { message: /USER cannot be changed by commit; allowed: CMD/ });
  t.throws(() => parseChanges(['CMD ["sh", 1]']), { message: /array of strings/ });
  t.throws(() => parseChanges(['WORKDIR rel']), { message: /absolute/ });
  t.throws(() => parseChanges(['EXPOSE http']), { message: /not PORT/ });
  t.throws(() => parseChanges(['nonsense']), { message: /not an instruction/ });
});

test('container:run and exec exit 125 on a bad flag, as Docker; other commands 2', async (t) => {
  const write = process.stderr.write.bind(process.stderr);
  let said = '';
  process.stderr.write = ((chunk: string) => ((said += chunk), true)) as typeof process.stderr.write;
  try {
    t.is(await main(['container:run', '-m', '12x', 'busybox']), 125);
    t.regex(said, /option '-m, --memory <size>' argument '12x' is invalid\. "12x" is not a size/);
    t.is(await main(['container:run', '--cpus', 'x', 'busybox']), 125);
    t.is(await main(['container:exec', '--bogus', 'c', 'ls']), 125);
    t.is(await main(['container:ls', '--bogus']), 2);
    t.is(await main(['container:stop', '-t', 'soon', 'c']), 2);
  } finally {
    process.stderr.write = write;
  }
});
