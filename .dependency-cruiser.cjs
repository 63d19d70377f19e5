/**
 * Import rules for server/ (STYLE.md 6.1): no cycles, and no folder reaches into another
 * folder's inner files; everything crosses a boundary through that folder's index.ts.
 */
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
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
