/**
 * What sshd hands git-shell in SSH_ORIGINAL_COMMAND, read without a shell: words split as a
 * POSIX shell splits them (quotes and backslashes), with nothing expanded, so `$`, `;`, `|`
 * or a backtick are only characters of a word. Pure: unit-tested in
 * test/unit/cli/git-shell.test.ts.
 */
import { BerthError, validateAppName } from '../../../core/index.js';

const refused = (message: string) => new BerthError('E_GIT_SSH_COMMAND_REFUSED', message);

/** Split `text` into words: whitespace separates, '…' is literal, "…" keeps \" \\ \$ \` escapes, \x outside quotes is x. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let i = 0;
  const add = (s: string) => (word = (word ?? '') + s);
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (word !== undefined) words.push(word);
      word = undefined;
      i++;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw refused('the command has an unterminated single quote');
      add(text.slice(i + 1, end));
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let s = '';
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && j + 1 < text.length && '"\\$`'.includes(text[j + 1]!)) j++;
        s += text[j];
      }
      if (j >= text.length) throw refused('the command has an unterminated double quote');
      add(s);
      i = j + 1;
    } else if (c === '\\') {
      if (i + 1 >= text.length) throw refused('the command ends with a backslash');
      add(text[i + 1]!);
      i += 2;
    } else {
      add(c);
      i++;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** The git services git-shell relays, as git names them in the command it sends. */
export const gitServices = ['git-receive-pack', 'git-upload-pack'] as const;

export type SshCommand = { kind: 'git'; service: (typeof gitServices)[number]; app: string } | { kind: 'berth'; argv: string[] };

/**
 * The app a git path names: `app`, `/app`, `~/app`, each with or without `.git` and a
 * trailing slash (`git push ssh://berth@host/app`, `berth@host:app.git`).
 */
export function appOfPath(path: string): string {
  const app = path
    .replace(/^~?\//, '')
    .replace(/\/$/, '')
    .replace(/\.git$/, '');
  try {
    return validateAppName(app);
  } catch (err) {
    throw refused(`${JSON.stringify(path)} does not name an app: ${(err as Error).message}`);
  }
}

/**
 * What an SSH command asks for: git's push or fetch of an app, or a Berth command that may
 * run over SSH (`runsOverSsh`); anything else is E_GIT_SSH_COMMAND_REFUSED saying why.
 */
export function parseSshCommand(text: string, runsOverSsh: (name: string) => boolean): SshCommand {
  const words = splitWords(text);
  const [first, ...rest] = words;
  if (first === undefined) throw refused('no command was given, and Berth gives no shell');
  const service = gitServices.find((s) => s === first);
  if (service) {
    if (rest.length !== 1) throw refused(`${first} takes one repository path, not ${rest.length}`);
    return { kind: 'git', service, app: appOfPath(rest[0]!) };
  }
  if (first.startsWith('git-') || first === 'git')
    throw refused(`${first} is not run over SSH: Berth serves git-receive-pack (push) and git-upload-pack (fetch) only`);
  if (!runsOverSsh(first)) throw refused(`${JSON.stringify(first.slice(0, 100))} is not a Berth command that runs over SSH, and Berth gives no shell`);
  return { kind: 'berth', argv: words };
}
