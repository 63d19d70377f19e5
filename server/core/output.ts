/**
 * Heroku-style output markers for build and deploy streams and CLI messages:
 * `-----> Step`, indented detail lines, and ` !     ` for failures.
 */
import type { BerthError } from './errors.js';

export const markers = {
  step: '-----> ',
  detail: '       ',
  fail: ' !     ',
} as const;

/** `-----> Building hello` */
export function stepLine(text: string): string {
  return `${markers.step}${text}`;
}

/** Detail under a step, each line indented to the step's text. */
export function detailLines(text: string): string {
  return text
    .split('\n')
    .map((line) => `${markers.detail}${line}`)
    .join('\n');
}

/** A failure: the message, then the hint, each line marked ` !     `. */
export function failLines(message: string, hint?: string): string {
  const lines = message.split('\n');
  if (hint) lines.push('', ...hint.split('\n'));
  return lines.map((line) => (line === '' ? markers.fail.trimEnd() : `${markers.fail}${line}`)).join('\n');
}

/** A BerthError as the CLI and `git push` show it. */
export function renderError(err: BerthError): string {
  return failLines(`${err.message} [${err.code}]`, err.hint);
}
