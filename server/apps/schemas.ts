/**
 * The apps room's files on disk (docs/apps.md, "On disk"), checked with zod when read and
 * before they are written: `app.json` (the record without its name, which is the
 * directory's) and `releases/<n>.json`. A file that does not match is E_APP_RECORD_INVALID
 * naming the file and every field at fault.
 */
import { z } from 'zod';
import { BerthError, issuePath, validateConfigKey, validateProcessType } from '../core/index.js';
import { validateBuildpack, validateDeployBranch } from './settings.js';
import type { AppRecord, ReleaseRecord } from './types.js';

/** A check of core's or settings' as a zod refinement: the thrown message becomes the issue. */
const checked = (check: (v: string) => unknown) =>
  z.string().superRefine((v, ctx) => {
    try {
      check(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message : String(e) });
    }
  });

const isoTime = z.iso.datetime({ offset: true });
const count = z.number().int().min(0).max(10_000);
const releaseNumber = z.number().int().min(1);
const builder = z.enum(['dockerfile', 'herokuish']);
/** A record whose keys `check` accepts; each bad key is an issue at its own path, in core's words. */
const keyed = <V extends z.ZodType>(check: (k: string) => unknown, value: V) =>
  z.record(z.string(), value).superRefine((rec, ctx) => {
    for (const k of Object.keys(rec)) {
      try {
        check(k);
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: [k], message: e instanceof Error ? e.message : String(e) });
      }
    }
  });
const env = keyed(validateConfigKey, z.string());
const scale = keyed(validateProcessType, count);

export const appFileSchema = z.strictObject({
  version: z.literal(1),
  createdAt: isoTime,
  deployBranch: checked(validateDeployBranch).optional(),
  builder: builder.optional(),
  buildpacks: z.array(checked(validateBuildpack)),
  env,
  scale,
  domains: z.array(z.string().min(1).max(253)),
  userns: z.strictObject({ hostId: z.number().int().min(1).max(0xffff_ffff), size: z.number().int().min(1).max(0xffff_ffff) }),
  currentRelease: releaseNumber.optional(),
  lastRelease: releaseNumber.optional(),
});

export const releaseFileSchema = z.strictObject({
  version: z.literal(1),
  number: releaseNumber,
  createdAt: isoTime,
  image: z.string().min(1),
  commit: z
    .string()
    .regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'a full commit id (40 or 64 hex digits)')
    .optional(),
  builder: z.union([builder, z.literal('none')]),
  env,
  processTypes: keyed(validateProcessType, z.string().min(1)),
  scale,
  description: z.string(),
});

/** Reading, a mismatch is a damaged file; writing, it is a change that breaks a rule, refused before anything is written. */
function parseWith<T extends z.ZodType>(schema: T, value: unknown, file: string, writing = false): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${issuePath(i.path, '(the file)')}: ${i.message}`).join('; ');
  if (writing) throw new BerthError('E_APP_SETTING_INVALID', `refused to write ${file}: ${problems}`, { details: { file } });
  throw new BerthError('E_APP_RECORD_INVALID', `${file} is not a valid state file: ${problems}`, { details: { file } });
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BerthError('E_APP_RECORD_INVALID', `${file} is not valid JSON: ${(e as Error).message}`, { cause: e, details: { file } });
  }
}

/** `app.json`'s text → the record (named after its directory). */
export function readAppFile(text: string, name: string, file: string): AppRecord {
  const { version: _v, ...rest } = parseWith(appFileSchema, parseJson(text, file), file);
  return { name, ...rest };
}

/** The record → `app.json`'s text, checked first (an update that breaks a rule is refused). */
export function appFileText(app: AppRecord, file: string): string {
  const { name: _n, ...rest } = app;
  return `${JSON.stringify(parseWith(appFileSchema, { version: 1, ...rest }, file, true), null, 2)}\n`;
}

export function readReleaseFile(text: string, file: string): ReleaseRecord {
  const { version: _v, ...rest } = parseWith(releaseFileSchema, parseJson(text, file), file);
  return rest;
}

export function releaseFileText(release: ReleaseRecord, file: string): string {
  return `${JSON.stringify(parseWith(releaseFileSchema, { version: 1, ...release }, file, true), null, 2)}\n`;
}
