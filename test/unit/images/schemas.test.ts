import test from 'ava';
import { isBerthError } from '../../../server/core/errors.js';
import { mediaTypes } from '../../../server/images/index.js';
import { sha256 } from '../../../server/images/digest.js';
import {
  dockerSaveManifestSchema,
  imageConfigSchema,
  imageIndexSchema,
  layerCompression,
  manifestSchema,
  parseDocument,
} from '../../../server/images/schemas.js';

const digest = sha256('x');

test('a manifest parses; unknown properties pass through untouched', (t) => {
  const m = parseDocument(
    manifestSchema,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      config: { mediaType: mediaTypes.ociConfig, digest, size: 1 },
      layers: [{ mediaType: mediaTypes.ociLayerGzip, digest, size: 2, annotations: { a: 'b' } }],
      artifactFuture: { kept: true },
    }),
    'm',
  );
  t.is(m.layers[0]?.size, 2);
  t.deepEqual((m as Record<string, unknown>).artifactFuture, { kept: true });
});

test('every problem of a bad document is listed with its path', (t) => {
  const error = t.throws(() =>
    parseDocument(
      manifestSchema,
      JSON.stringify({
        schemaVersion: 1,
        config: { mediaType: 'x', digest: 'md5:abc', size: -1 },
        layers: 'no',
      }),
      'manifest in test.tar',
    ),
  );
  t.true(isBerthError(error) && error.code === 'E_IMAGE_ARCHIVE_INVALID');
  const message = error?.message ?? '';
  t.regex(message, /^manifest in test\.tar is not a valid document:/);
  for (const path of ['schemaVersion', 'config.digest', 'config.size', 'layers']) t.true(message.includes(`  ${path}: `), `${path} in ${message}`);
});

test('not JSON is E_IMAGE_ARCHIVE_INVALID naming the document', (t) => {
  const error = t.throws(() => parseDocument(imageIndexSchema, '{"schemaVersion":', 'index.json in a.tar'));
  t.regex(error?.message ?? '', /^index\.json in a\.tar is not valid JSON/);
});

test('an image config needs its rootfs diff_ids as sha256 digests', (t) => {
  const ok = parseDocument(
    imageConfigSchema,
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digest] }, config: { Env: null, Cmd: ['sh'] } }),
    'c',
  );
  t.deepEqual(ok.config?.Cmd, ['sh']);
  t.throws(() =>
    parseDocument(imageConfigSchema, JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: ['sha256:short'] } }), 'c'),
  );
});

test('docker save manifest.json: a list of Config, RepoTags (may be null) and Layers', (t) => {
  const m = parseDocument(dockerSaveManifestSchema, JSON.stringify([{ Config: 'c.json', RepoTags: null, Layers: ['a/layer.tar'] }]), 'manifest.json');
  t.is(m[0]?.Layers[0], 'a/layer.tar');
  t.throws(() => parseDocument(dockerSaveManifestSchema, JSON.stringify([{ RepoTags: [], Layers: [] }]), 'manifest.json'));
});

test('layer media types say their compression; other types are not layers Berth reads', (t) => {
  t.is(layerCompression(mediaTypes.ociLayer), 'none');
  t.is(layerCompression(mediaTypes.dockerLayer), 'none');
  t.is(layerCompression(mediaTypes.ociLayerGzip), 'gzip');
  t.is(layerCompression(mediaTypes.dockerLayerGzip), 'gzip');
  t.is(layerCompression(mediaTypes.ociLayerZstd), 'zstd');
  t.is(layerCompression('application/vnd.in-toto+json'), undefined);
});
