import test from 'ava';
import { parseRelease } from '../../../../server/build/buildpacks/release-yaml.js';

test('bin/release output as buildpacks print it: types and config vars', (t) => {
  const ruby = [
    '---',
    'addons:',
    '  - heroku-postgresql',
    'config_vars:',
    '  LANG: en_US.UTF-8',
    "  RAILS_ENV: 'production'",
    '  PATH: "/app/bin:/usr/local/bin:/usr/bin:/bin"',
    'default_process_types:',
    '  rake: bundle exec rake',
    '  web: bin/rails server -p ${PORT:-5000} -e $RAILS_ENV # the default',
    '  "console": bin/rails console',
    '',
  ].join('\n');
  t.deepEqual(parseRelease(ruby, 'ruby'), {
    configVars: { LANG: 'en_US.UTF-8', RAILS_ENV: 'production', PATH: '/app/bin:/usr/local/bin:/usr/bin:/bin' },
    defaultProcessTypes: { rake: 'bundle exec rake', web: 'bin/rails server -p ${PORT:-5000} -e $RAILS_ENV', console: 'bin/rails console' },
  });
  t.deepEqual(parseRelease('--- \n', 'x'), { configVars: {}, defaultProcessTypes: {} });
  t.deepEqual(parseRelease('---\naddons: []\ndefault_process_types: {}\n', 'x'), { configVars: {}, defaultProcessTypes: {} });
  t.deepEqual(parseRelease("default_process_types:\n    web: 'it''s'\n", 'x').defaultProcessTypes, { web: "it's" });
});

for (const [name, text, what] of [
  ['a block scalar', '---\ndefault_process_types:\n  web: |\n    node server.js\n', /line 3: "\|" is YAML Berth does not read/],
  ['an anchor', 'default_process_types:\n  web: &w node\n', /line 2: .*anchors/],
  ['a tab indent', 'config_vars:\n\tA: b\n', /line 2: a tab/],
  ['a nested map', 'config_vars:\n  A:\n    B: c\n', /line 2: config_vars\.A has no value/],
  ['a bad type name', 'default_process_types:\n  web.1: x\n', /default process type "web\.1"/],
  ['a bad var name', 'config_vars:\n  1A: x\n', /config var "1A" is not/],
  ['mixed indentation', 'config_vars:\n  A: b\n    C: d\n', /line 3: the indentation/],
  ['a scalar for a map', 'default_process_types: web\n', /must be a map/],
  ['a stray indented line', '  web: x\n', /line 1: an indented line that belongs to no key/],
  ['an unterminated string', 'config_vars:\n  A: "b\n', /line 2: unterminated double-quoted/],
] as const) {
  test(`bin/release output with ${name} is refused, naming the buildpack`, (t) => {
    const e = t.throws(() => parseRelease(text, 'fixture')) as Error & { code: string; details: Record<string, unknown> };
    t.is(e.code, 'E_BUILD_BUILDPACK_RELEASE_INVALID');
    t.regex(e.message, /^buildpack fixture, release: bin\/release printed invalid YAML/);
    t.regex(e.message, what);
    t.is(e.details.phase, 'release');
  });
}
