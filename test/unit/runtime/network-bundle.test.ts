/**
 * The network option of Berth's default OCI config: the berth.network annotations, with
 * names, groups and ports validated (refused, never repaired), and the argv of `network gc`.
 */
import test from 'ava';
import { BerthError } from '../../../server/core/index.js';
import { runtimeArgv } from '../../../server/runtime/argv.js';
import { validateSpec } from '../../../server/runtime/bundle.js';
import { annotations, defaultSpec } from '../../../server/runtime/index.js';

test('defaultSpec: a network becomes berth.network annotations, and the config keeps its network namespace', (t) => {
  const spec = defaultSpec({
    args: ['/bin/true'],
    network: {
      name: 'berth0',
      group: 'my-app',
      publish: [
        { hostPort: 15432, containerPort: 5432 },
        { hostPort: 18080, containerPort: 80 },
      ],
    },
  });
  t.is(spec.annotations?.[annotations.network], 'berth0');
  t.is(spec.annotations?.[annotations.networkGroup], 'my-app');
  t.is(spec.annotations?.[annotations.networkPublish], '127.0.0.1:15432:5432/tcp,127.0.0.1:18080:80/tcp');
  t.true(spec.linux?.namespaces?.some((n) => n.type === 'network' && n.path === undefined));
  t.notThrows(() => validateSpec(spec));

  const plain = defaultSpec({ args: ['/bin/true'], network: { name: 'berth0' } });
  t.deepEqual(plain.annotations, { [annotations.network]: 'berth0' });
  t.is(defaultSpec({ args: ['/bin/true'] }).annotations?.[annotations.network], undefined, 'no network unless asked');
});

test('defaultSpec: bad network names, groups and ports are refused with what is wrong', (t) => {
  const refused = (network: Parameters<typeof defaultSpec>[0]['network'], re: RegExp): void => {
    const err = t.throws(() => defaultSpec({ args: ['/bin/true'], network }), { instanceOf: BerthError });
    t.regex(err?.message ?? '', re);
  };
  refused({ name: 'Berth0' }, /network name "Berth0"/);
  refused({ name: 'a-very-long-bridge-name' }, /1 to 15/);
  refused({ name: 'berth0', group: '../etc' }, /network group "\.\.\/etc"/);
  refused({ name: 'berth0', publish: [{ hostPort: 0, containerPort: 80 }] }, /ports are 1 to 65535/);
  refused({ name: 'berth0', publish: [{ hostPort: 8080, containerPort: 70000 }] }, /ports are 1 to 65535/);
  refused(
    {
      name: 'berth0',
      publish: [
        { hostPort: 8080, containerPort: 80 },
        { hostPort: 8080, containerPort: 81 },
      ],
    },
    /given twice/,
  );
});

test('runtimeArgv: network gc', (t) => {
  t.deepEqual(runtimeArgv({ root: '/run/berth' }, { command: 'network-gc' }), ['--root', '/run/berth', '--log-format=json', 'network', 'gc']);
});
