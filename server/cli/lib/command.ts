/**
 * How a topic declares its commands. Declarations are light: commander's name, arguments,
 * options and help, and an action that imports the command's code only when it runs
 * (`await import('./run.js')`), so `berth --help` or one command never loads the others
 * (docs/development.md, "The CLI").
 */
import { Option, type Command } from '@commander-js/extra-typings';

export interface CommandDeclaration {
  /** Commands differ in their argument and option types; the program only registers them. */
  command: Command<any, any, any>;
  /**
   * The action returns while its work goes on (the daemon serves after it started): the
   * process then ends by itself, not when the action returns. Other commands end as soon
   * as their action settles, whatever sockets (HTTP keep-alive) are still open; a command
   * that streams until the end (logs -f, attach) awaits that end in its action.
   */
  longRunning?: boolean;
  /** Left out of `berth --help`: commands git hooks and sshd run, not people. */
  hidden?: boolean;
  /** The exit status of a usage error (unknown flag, bad value): Docker's 125 for run and exec. @defaultValue 2 */
  usageExit?: number;
}

/** `--format text|json`, where Dokku and Docker have it. */
export const formatOption = () => new Option('--format <format>', 'output format').choices(['text', 'json'] as const).default('text' as const);
