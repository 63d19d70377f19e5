/**
 * From an image to what runs: the process types and argv of buildpack and Dockerfile images,
 * the release command (Procfile `release:` and app.json's predeploy), the web port, the scale;
 * and the builder setting the pipeline hands to selectBuilder.
 */
import test from 'ava';
import { BerthError } from '../../../server/core/index.js';
import { parseAppJson } from '../../../server/deploy/app-json.js';
import { appDomains, appUrl, builderSetting, describeConfig, releaseTag } from '../../../server/deploy/pipeline.js';
import { choosePort, imageFacts, processModel, releaseCommand, scaleFor } from '../../../server/deploy/process-types.js';
import type { ImageFacts } from '../../../server/deploy/ports.js';

const image = (o: Partial<ImageFacts> = {}): ImageFacts => ({ id: 'sha256:' + 'a'.repeat(64), entrypoint: [], cmd: [], exposedPorts: [], labels: {}, ...o });
const buildpackImage = (types: Record<string, string>) =>
  image({ labels: { 'berth.buildpacks': '[{"name":"procfile","revision":"1"}]', 'berth.process-types': JSON.stringify(types) }, cmd: ['/start', 'web'] });

test('a buildpack image: each type runs through the launcher as /start <type>; release: through /exec', (t) => {
  const m = processModel(buildpackImage({ web: 'node server.js', worker: 'node worker.js', release: 'node migrate.js' }));
  t.is(m.kind, 'buildpacks');
  t.deepEqual(m.processes, { web: { argv: ['/start', 'web'] }, worker: { argv: ['/start', 'worker'] } });
  t.deepEqual(m.processTypes, { web: 'node server.js', worker: 'node worker.js', release: 'node migrate.js' });
  t.deepEqual(m.releaseCommand, ['/exec', 'bash', '-c', 'node migrate.js']);
});

test('a Dockerfile image with a Procfile: ENTRYPOINT then /bin/sh -c <command>, as Docker runs a shell-form CMD', (t) => {
  const types = { web: 'httpd -f -p $PORT', release: './migrate' };
  const plain = processModel(image({ cmd: ['sh'], labels: { 'berth.process-types': JSON.stringify(types) } }));
  t.is(plain.kind, 'dockerfile');
  t.deepEqual(plain.processes, { web: { argv: ['/bin/sh', '-c', 'httpd -f -p $PORT'] } });
  t.deepEqual(plain.releaseCommand, ['/bin/sh', '-c', './migrate']);
  const withEntrypoint = processModel(image({ entrypoint: ['/entry.sh'], labels: { 'berth.process-types': JSON.stringify({ web: 'serve' }) } }));
  t.deepEqual(withEntrypoint.processes.web?.argv, ['/bin/sh', '-c', 'serve'], 'the engine keeps the Entrypoint and replaces the Cmd');
  t.false('releaseCommand' in withEntrypoint);
});

test("a Dockerfile image without a Procfile: web is the image's own ENTRYPOINT + CMD (an empty argv), recorded as a command line", (t) => {
  const m = processModel(image({ entrypoint: ['/bin/app'], cmd: ['--port', '5000', "it's"] }));
  t.deepEqual(m.processes, { web: { argv: [] } });
  t.deepEqual(m.processTypes, { web: `/bin/app --port 5000 'it'\\''s'` });
  t.false('releaseCommand' in m);
});

test('an image with nothing to run, or a malformed process-types label, is E_DEPLOY_PROCESS_TYPES', (t) => {
  const none = t.throws(() => processModel(image()), { instanceOf: BerthError });
  t.is(none?.code, 'E_DEPLOY_PROCESS_TYPES');
  t.regex(none?.message ?? '', /no Procfile, and the Dockerfile gives neither CMD nor ENTRYPOINT/);
  const onlyRelease = t.throws(() => processModel(buildpackImage({ release: 'x' })), { instanceOf: BerthError });
  t.regex(onlyRelease?.message ?? '', /the Procfile and the buildpacks name no process type/);
  for (const label of ['{', '[]', '{"web": 3}', '{"web": " "}']) {
    const e = t.throws(() => processModel(image({ labels: { 'berth.process-types': label } })), { instanceOf: BerthError });
    t.is(e?.code, 'E_DEPLOY_PROCESS_TYPES', label);
    t.regex(e?.message ?? '', /label berth\.process-types/);
  }
});

test("the release command: Procfile release:, app.json's predeploy, or both (predeploy first, each in its own group)", (t) => {
  const df = image({ labels: { 'berth.process-types': JSON.stringify({ web: 'w', release: 'echo release # done' }) } });
  const m = processModel(df);
  t.deepEqual(releaseCommand(m, undefined), ['/bin/sh', '-c', 'echo release # done']);
  t.deepEqual(releaseCommand(m, 'echo pre'), ['/bin/sh', '-c', '(\necho pre\n) && (\necho release # done\n)']);
  const bp = buildpackImage({ web: 'w' });
  t.deepEqual(releaseCommand(processModel(bp), 'rake db:migrate'), ['/exec', 'bash', '-c', 'rake db:migrate']);
  t.is(releaseCommand(processModel(bp), undefined), undefined);
});

test("the port: 5000 for buildpacks; a Dockerfile image's one EXPOSEd TCP port, 5000 without; several need PORT", (t) => {
  const bp = buildpackImage({ web: 'w' });
  t.is(choosePort(processModel(bp), { ...bp, exposedPorts: ['8080/tcp'] }, {}), 5000);
  const df = (ports: string[]) => image({ cmd: ['serve'], exposedPorts: ports });
  const port = (ports: string[], env: Record<string, string> = {}) => choosePort(processModel(df(ports)), df(ports), env);
  t.is(port([]), 5000);
  t.is(port(['8080/tcp']), 8080);
  t.is(port(['3000']), 3000);
  t.is(port(['53/udp', '8080/tcp']), 8080, 'UDP ports do not count');
  t.is(port(['80/tcp', '443/tcp'], { PORT: '443' }), 443);
  const e = t.throws(() => port(['80/tcp', '443/tcp']), { instanceOf: BerthError });
  t.is(e?.code, 'E_DEPLOY_PORT_AMBIGUOUS');
  t.regex(e?.message ?? '', /several TCP ports \(80, 443\)/);
  t.regex(e?.hint ?? '', /PORT=80/);
  t.throws(() => port(['80/tcp', '443/tcp'], { PORT: '8080' }), { message: /several TCP ports/ });
});

test('the scale: web=1 and the rest 0 on a first deploy; counts the app has are kept; types gone drop out', (t) => {
  const m = processModel(buildpackImage({ web: 'w', worker: 'k', clock: 'c', release: 'r' }));
  t.deepEqual(scaleFor(m, {}), { clock: 0, web: 1, worker: 0 });
  t.deepEqual(scaleFor(m, { web: 3, worker: 2, old: 4 }), { clock: 0, web: 3, worker: 2 });
  t.deepEqual(scaleFor(m, { web: 0 }), { clock: 0, web: 0, worker: 0 }, 'a web scaled to 0 stays at 0');
});

test('the builder setting: builder:set wins; named buildpacks mean herokuish; else the Dockerfile decides', (t) => {
  const app = { buildpacks: [] as string[], env: {} as Record<string, string> };
  t.is(builderSetting({ ...app, builder: 'dockerfile', buildpacks: ['nodejs'] }, true), 'dockerfile');
  t.is(builderSetting({ ...app, builder: 'herokuish' }, false), 'herokuish');
  t.is(builderSetting({ ...app, buildpacks: ['https://example.com/bp.git'] }, false), 'herokuish');
  t.is(builderSetting({ ...app, env: { BUILDPACK_URL: 'https://example.com/bp.git' } }, false), 'herokuish');
  t.is(builderSetting(app, true), 'herokuish');
  t.is(builderSetting({ ...app, env: { BUILDPACK_URL: '' } }, false), undefined);
  t.is(builderSetting(app, false), undefined);
});

test('domains, URL, release tag and config descriptions', (t) => {
  t.deepEqual(appDomains({ name: 'hello', domains: [] }, 'localhost'), ['hello.localhost']);
  t.deepEqual(appDomains({ name: 'hello', domains: ['www.example.com'] }, 'localhost'), ['www.example.com']);
  t.is(appUrl(['hello.localhost'], 80), 'http://hello.localhost/');
  t.is(appUrl(['hello.localhost'], 8080), 'http://hello.localhost:8080/');
  t.is(releaseTag('hello', 4), 'berth/hello:v4');
  t.is(describeConfig({ A: '1', C: '3' }, { A: '2', B: '1' }, ['A', 'B', 'C']), 'Set A, B; unset C');
  t.is(describeConfig({ C: '3' }, {}, ['C']), 'Unset C');
  t.is(describeConfig({}, {}, ['C']), 'Config change');
});

test('app.json: optional; healthchecks passed on as they are; predeploy must be a command string', (t) => {
  t.deepEqual(parseAppJson(undefined), {});
  t.deepEqual(parseAppJson('{"name":"x"}'), {});
  const checks = { web: [{ type: 'startup', path: '/health', attempts: 3 }] };
  t.deepEqual(parseAppJson(JSON.stringify({ healthchecks: checks, scripts: { dokku: { predeploy: 'make migrate', postdeploy: 'x' } } })), {
    healthchecks: checks,
    predeploy: 'make migrate',
  });
  const bad: [string, RegExp][] = [
    ['{', /app\.json is not valid JSON/],
    ['[]', /must be a JSON object/],
    ['{"scripts": 1}', /"scripts" must be an object/],
    ['{"scripts": {"dokku": []}}', /"scripts\.dokku" must be an object/],
    ['{"scripts": {"dokku": {"predeploy": ["a"]}}}', /"scripts\.dokku\.predeploy" must be a non-empty command string/],
    ['{"scripts": {"dokku": {"predeploy": " "}}}', /predeploy" must be a non-empty/],
  ];
  for (const [text, message] of bad) {
    const e = t.throws(() => parseAppJson(text), { instanceOf: BerthError });
    t.is(e?.code, 'E_DEPLOY_APP_JSON_INVALID', text);
    t.regex(e?.message ?? '', message);
  }
});

test("imageFacts reads an image's digest, Entrypoint, Cmd, EXPOSEd ports and labels; absent or null fields are empty", (t) => {
  const digest = 'sha256:' + 'b'.repeat(64);
  t.deepEqual(
    imageFacts({
      digest,
      config: { config: { Entrypoint: ['/e'], Cmd: ['c'], ExposedPorts: { '8080/tcp': {}, '53/udp': {} }, Labels: { a: 'b' } } },
    }),
    { id: digest, entrypoint: ['/e'], cmd: ['c'], exposedPorts: ['8080/tcp', '53/udp'], labels: { a: 'b' } },
  );
  t.deepEqual(imageFacts({ digest, config: {} }), { id: digest, entrypoint: [], cmd: [], exposedPorts: [], labels: {} });
  t.deepEqual(imageFacts({ digest, config: { config: { Entrypoint: null, Cmd: null, ExposedPorts: null, Labels: null } } }).cmd, []);
});
