/**
 * Custom snippets: only listed directives, and nothing nginx could read differently from
 * Berth (braces, escapes, single quotes, comments, quotes inside words).
 */
import test from 'ava';
import { validateSnippet, snippetDirectives, MAX_SNIPPET_BYTES } from '../../../server/proxy/snippet.js';

test('plain directives from the list pass, with double-quoted words and variables', (t) => {
  t.deepEqual(validateSnippet(''), []);
  t.deepEqual(validateSnippet('gzip on;\ngzip_types text/css application/json;\nadd_header X-Frame-Options "SAMEORIGIN" always;\n'), []);
  t.deepEqual(validateSnippet('return 301 https://$host$request_uri;'), []);
  t.deepEqual(validateSnippet('client_body_timeout 10s; send_timeout 10s;'), []);
  t.true(snippetDirectives.includes('add_header'));
});

const refused: [string, string][] = [
  ['include /etc/passwd;', 'directive "include" is not allowed'],
  ['access_log /tmp/x;', 'directive "access_log" is not allowed'],
  ['proxy_pass http://10.0.0.1;', 'directive "proxy_pass" is not allowed'],
  ['"include" /etc/passwd;', 'directive "\\"include\\"" is not allowed'],
  ['toString x;', 'directive "toString" is not allowed'],
  ['__proto__ x;', 'directive "__proto__" is not allowed'],
  ['location / { return 200; }', 'braces are not allowed'],
  ['}\nserver { listen 80; }', 'braces are not allowed'],
  ['gzip on', 'does not end with `;`'],
  ['gzip on;;', 'ends no directive'],
  ['add_header X "a;b";', 'holds a `;`'],
  ['add_header X a"b; include /etc/passwd; x";', 'a double quote inside the word'],
  ['add_header X "a"b;', 'closing double quote is followed by'],
  ['add_header X "open;', 'not closed'],
  ["add_header X 'a';", 'single quotes'],
  ['add_header X a\\;b;', 'backslashes'],
  ['gzip on; # comment', 'comments'],
  ['add_header X \u00e9;', 'U+00E9'],
  ['gzip\u0000on;', 'U+0000'],
  ['add_header X "a\nb";', 'not closed on its line'],
];

for (const [snippet, why] of refused) {
  test(`snippet ${JSON.stringify(snippet).slice(0, 40)} is refused (${why})`, (t) => {
    const problems = validateSnippet(snippet);
    t.true(problems.length > 0);
    t.true(
      problems.some((p) => p.includes(why)),
      problems.join(' | '),
    );
  });
}

test('problems name the line; a snippet over the size limit is refused', (t) => {
  t.true(validateSnippet('gzip on;\ngzip on;\ninclude x;\n')[0]?.startsWith('line 3:'));
  t.true(validateSnippet(`${'gzip on;\n'.repeat(MAX_SNIPPET_BYTES / 9 + 1)}`)[0]?.includes(`more than ${MAX_SNIPPET_BYTES}`));
});

test('characters outside printable ASCII are refused inside words and inside quotes', (t) => {
  t.true(validateSnippet('add_header X "caf\u00e9";').some((p) => p.includes('U+00E9')));
  t.true(validateSnippet('add_header X "a{b";').some((p) => p.includes('braces')));
  t.true(validateSnippet('add_header X "a\\"b";').length > 0);
  t.true(validateSnippet('add_header X ab\u200b;').some((p) => p.includes('U+200B')));
});
