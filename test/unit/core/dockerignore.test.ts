import test from 'ava';
import { dockerignoreMatcher, ignorePatterns } from '../../../server/core/index.js';

test('the matcher: Docker rules through @balena/dockerignore; the root is never excluded; which excluded directories an exception reaches into', (t) => {
  const m = dockerignoreMatcher(ignorePatterns('# c\n*.log\nsecrets/\n!secrets/public.txt\nbuild\n!/dist/*/keep\n'));
  t.true(m.ignores('a.log'));
  t.false(m.ignores('sub/a.log'), '*.log matches at the root only');
  t.true(m.ignores('secrets/key.pem'));
  t.false(m.ignores('secrets/public.txt'));
  t.false(m.ignores(''));
  t.true(m.reincludesBelow('secrets'));
  t.true(m.reincludesBelow('dist'));
  t.false(m.reincludesBelow('build'));
  t.false(m.reincludesBelow('secretsX'));
  t.false(dockerignoreMatcher(['x']).reincludesBelow('x'));
});
