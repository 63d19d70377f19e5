/**
 * The import rules of server/ (docs/architecture.md): no cycles; no folder reaches into another
 * folder's inner files (everything crosses a boundary through that folder's index.ts); and each
 * folder imports only the folders below it in the table `rooms`. A folder that does not exist
 * yet has its rule already, so a wrong import fails `npm run check` the day it is written.
 * test/unit/architecture/imports.test.ts shows each kind of violation being caught.
 */

/**
 * Each room of server/ and the rooms it may import. `types` lists rooms it may import types
 * from only (`import type`), never code. `daemon` is server/daemon.ts, the composition root.
 */
const rooms = {
  core: { may: [] },
  config: { may: ['core'] },
  redis: { may: ['core'] },
  runtime: { may: ['core'] },
  images: { may: ['core'] },
  plugins: { may: ['core', 'config'] },
  apps: { may: ['core', 'plugins'] },
  containers: { may: ['core', 'images', 'runtime'] },
  proxy: { may: ['core'] },
  build: { may: ['core', 'images', 'containers', 'plugins'] },
  release: { may: ['core', 'images', 'containers', 'proxy', 'plugins'], types: ['apps'] },
  deploy: { may: ['core', 'apps', 'build', 'release', 'plugins'] },
  queue: { may: ['core', 'redis'] },
  git: { may: ['core', 'apps', 'queue'] },
  api: {
    may: ['core', 'config', 'redis', 'runtime', 'images', 'plugins', 'apps', 'containers', 'proxy', 'build', 'release', 'deploy', 'queue', 'git'],
  },
  cli: { may: ['core', 'config'], types: ['api'] },
};

const any = (names) => `^server/(${names.join('|')})/`;

const roomRules = Object.entries(rooms).flatMap(([room, { may, types = [] }]) => {
  const rules = [
    {
      name: `rooms-${room}`,
      severity: 'error',
      comment: `server/${room}/ may import ${[...may, ...types.map((t) => `${t} (types only)`)].join(', ') || 'no other folder'} (docs/architecture.md).`,
      from: { path: `^server/${room}/` },
      to: { path: '^server/', pathNot: [any([room, ...may, ...types]), '^server/daemon\\.ts$'] },
    },
    {
      name: `rooms-${room}-to-daemon`,
      severity: 'error',
      comment: 'Nothing imports the composition root (server/daemon.ts), but `berth daemon` loads it with a dynamic import.',
      from: { path: `^server/${room}/` },
      to: { path: '^server/daemon\\.ts$', ...(room === 'cli' ? { dependencyTypesNot: ['dynamic-import'] } : {}) },
    },
  ];
  if (types.length > 0) {
    rules.push({
      name: `rooms-${room}-types-only`,
      severity: 'error',
      comment: `server/${room}/ imports only types from ${types.join(', ')}: use \`import type\` (docs/architecture.md).`,
      from: { path: `^server/${room}/` },
      to: { path: any(types), dependencyTypesNot: ['type-only'] },
    });
  }
  return rules;
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make start-up order and types fragile; break the cycle.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-inner-imports',
      severity: 'error',
      comment: 'Import another server/ folder only through its index.ts.',
      from: { path: '^server/([^/]+)/' },
      to: { path: '^server/[^/]+/', pathNot: ['^server/$1/', '^server/[^/]+/index\\.ts$'] },
    },
    {
      name: 'no-inner-imports-from-root',
      severity: 'error',
      comment: 'Files directly under server/ (the composition root) import folders through their index.ts.',
      from: { path: '^server/[^/]+\\.ts$' },
      to: { path: '^server/[^/]+/', pathNot: ['^server/[^/]+/index\\.ts$'] },
    },
    {
      name: 'no-unknown-room',
      severity: 'error',
      comment: 'Every folder of server/ is a room declared in `rooms` above, with its allowed imports, and in docs/architecture.md.',
      from: { path: '^server/', pathNot: [`^server/(${Object.keys(rooms).join('|')})/`, '^server/[^/]+\\.ts$'] },
      to: {},
    },
    {
      name: 'no-test-code',
      severity: 'error',
      comment: 'server/ never imports from test/ or bench/.',
      from: { path: '^server/' },
      to: { path: '^(test|bench)/' },
    },
    ...roomRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
