import test from 'ava';
import { progressLine, renderImages } from '../../../server/cli/commands/image/render.js';
import { humanSize } from '../../../server/cli/lib/format.js';
import { parseChallenge } from '../../../server/images/registry.js';

test('sizes as Docker prints them', (t) => {
  t.is(humanSize(999), '999B');
  t.is(humanSize(1_056_364), '1.06MB');
  t.is(humanSize(79_500_000), '79.5MB');
  t.is(humanSize(258_000_000), '258MB');
});

test('berth images: one row per tag, the repository and tag split at the last colon', (t) => {
  const out = renderImages([
    { tags: ['127.0.0.1:5000/team/app:v1', 'app:latest'], digest: 'sha256:aa', configDigest: `sha256:${'b'.repeat(64)}`, size: 2_000_000, layers: 2 },
  ]);
  const lines = out.split('\n');
  t.regex(lines[0] ?? '', /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  t.regex(lines[1] ?? '', /^127\.0\.0\.1:5000\/team\/app\s+v1\s+bbbbbbbbbbbb\s+-\s+2\.00MB$/);
  t.regex(lines[2] ?? '', /^app\s+latest\s+bbbbbbbbbbbb/);
});

test('registry challenges parse (Basic, Bearer with quoted, escaped and bare values)', (t) => {
  t.deepEqual(parseChallenge('Basic realm="berth-test"'), { scheme: 'basic', params: { realm: 'berth-test' } });
  t.deepEqual(parseChallenge('Bearer realm="http://127.0.0.1:1/token",service="reg",scope="repository:a/b:pull,push"'), {
    scheme: 'bearer',
    params: { realm: 'http://127.0.0.1:1/token', service: 'reg', scope: 'repository:a/b:pull,push' },
  });
  t.deepEqual(parseChallenge('Bearer realm=x, error="in\\"valid"')?.params, { realm: 'x', error: 'in"valid' });
});

test('a progress line, as Docker words it', (t) => {
  const digest = `sha256:${'c'.repeat(64)}`;
  t.is(progressLine({ digest, kind: 'layer', status: 'downloading', current: 1_200_000, total: 3_400_000 }), 'cccccccccccc: Downloading  1.20MB/3.40MB');
  t.is(progressLine({ digest, kind: 'config', status: 'exists', current: 10, total: 10 }), 'cccccccccccc: Already exists (config)');
  t.is(progressLine({ digest, kind: 'layer', status: 'pushed', current: 5, total: 5 }), 'cccccccccccc: Pushed');
});
