import test from 'ava';
import { isBerthError } from '../../../server/core/errors.js';
import { parseReference, tagOf } from '../../../server/images/index.js';
import { formatReference } from '../../../server/images/reference.js';

const valid: [string, Record<string, string>][] = [
  ['busybox', { name: 'busybox', repository: 'busybox', tag: 'latest' }],
  ['busybox:1.36', { name: 'busybox', tag: '1.36' }],
  ['library/busybox:v1', { name: 'library/busybox', repository: 'library/busybox', tag: 'v1' }],
  ['127.0.0.1:5000/app:v2', { registry: '127.0.0.1:5000', repository: 'app', name: '127.0.0.1:5000/app', tag: 'v2' }],
  ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
  ['registry.example.org/team/app-web_1.x:TAG_9', { registry: 'registry.example.org', repository: 'team/app-web_1.x', tag: 'TAG_9' }],
  [`app@sha256:${'a'.repeat(64)}`, { name: 'app', digest: `sha256:${'a'.repeat(64)}` }],
  [`app:v1@sha256:${'b'.repeat(64)}`, { name: 'app', tag: 'v1', digest: `sha256:${'b'.repeat(64)}` }],
];

for (const [input, expected] of valid) {
  test(`parses ${input}`, (t) => {
    const ref = parseReference(input);
    for (const [k, v] of Object.entries(expected)) t.is((ref as unknown as Record<string, string>)[k], v, k);
    t.is(parseReference(formatReference(ref)).name, ref.name, 'round trip');
  });
}

test('a digest-only reference has no tag; tagOf gives name:tag otherwise', (t) => {
  t.is(parseReference(`app@sha256:${'c'.repeat(64)}`).tag, undefined);
  t.is(tagOf(parseReference('app')), 'app:latest');
  t.is(tagOf(parseReference(`app@sha256:${'c'.repeat(64)}`)), undefined);
});

const invalid: [string, RegExp][] = [
  ['', /empty/],
  ['Busybox', /component "Busybox"/],
  ['app:', /tag ""/],
  ['app:-x', /tag "-x"/],
  ['app@sha256:abc', /digest/],
  ['app@md5:' + 'a'.repeat(32), /digest/],
  ['a//b', /empty component/],
  ['app name', /character " " at position 3/],
  ['app;rm', /character ";" at position 3/],
  ['host:99999/app', /port 99999/],
  ['a..b', /component "a..b"/],
  [`${'a'.repeat(256)}`, /longer than 255/],
];

for (const [input, message] of invalid) {
  test(`rejects ${JSON.stringify(input.slice(0, 40))} naming what is wrong`, (t) => {
    const error = t.throws(() => parseReference(input));
    t.true(isBerthError(error));
    if (isBerthError(error)) t.is(error.code, 'E_IMAGE_REFERENCE_INVALID');
    t.regex(error?.message ?? '', message);
  });
}
