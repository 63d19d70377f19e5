/**
 * A ReleasePlan checked before anything starts: every problem is listed (not just the
 * first), each naming the field and the value, and nothing is repaired. Names go through
 * core's rules; the domains through the proxy's route model, so a bad one fails here and
 * not at the switch, after containers were started for nothing.
 */
import { z } from 'zod';
import { BerthError, issuePath, validateAppName, validateConfigKey, validateProcessType } from '../core/index.js';
import { validateAppRoute } from '../proxy/index.js';
import type { ReleasePlan } from './types.js';

/** Most containers of one process type: far above a single host's use, well below its limits. */
export const MAX_SCALE = 100;

const int = (min: number, max: number) => z.number().int().min(min).max(max);

const planSchema = z.strictObject({
  app: z.string(),
  release: int(1, Number.MAX_SAFE_INTEGER),
  image: z.string().min(1),
  processes: z.record(z.string(), z.strictObject({ argv: z.array(z.string().refine((a) => !a.includes('\0'), 'an argument contains a NUL byte')) })),
  scale: z.record(z.string(), int(0, MAX_SCALE)),
  env: z.record(
    z.string(),
    z.string().refine((v) => !v.includes('\0'), 'a value contains a NUL byte'),
  ),
  port: int(1, 65535),
  domains: z.array(z.string()),
  userns: z
    .strictObject({ hostId: int(1, 0xffff_fffe), size: int(1, 0xffff_ffff) })
    .refine((u) => u.hostId + u.size <= 0xffff_ffff, 'the range ends above 2^32'),
  healthchecks: z.unknown().optional(),
  releaseCommand: z.array(z.string()).min(1).optional(),
  limits: z.strictObject({ memory: z.number().optional(), cpus: z.number().optional(), pids: z.number().optional() }).optional(),
});

/** The names core's rules refuse, as problems. */
function nameProblems(plan: ReleasePlan): string[] {
  const problems: string[] = [];
  const check = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
  };
  check(() => validateAppName(plan.app));
  for (const type of Object.keys(plan.processes)) check(() => validateProcessType(type));
  for (const key of Object.keys(plan.env)) check(() => validateConfigKey(key));
  for (const [type, count] of Object.entries(plan.scale)) {
    if (count > 0 && !(type in plan.processes)) {
      problems.push(
        `scale: ${type}=${count}, but the release has no process type ${JSON.stringify(type)} (it has ${Object.keys(plan.processes).join(', ') || 'none'})`,
      );
    }
  }
  if (problems.length === 0) check(() => validateAppRoute({ app: plan.app, domains: plan.domains, upstreams: [] }));
  return problems;
}

/** `plan` checked; throws E_RELEASE_PLAN_INVALID listing every problem. */
export function validatePlan(plan: ReleasePlan): ReleasePlan {
  const parsed = planSchema.safeParse(plan);
  const problems = parsed.success ? nameProblems(parsed.data) : parsed.error.issues.map((i) => `${issuePath(i.path, '(plan)')}: ${i.message}`);
  if (problems.length > 0) {
    const app = typeof plan?.app === 'string' ? plan.app : '?';
    throw new BerthError('E_RELEASE_PLAN_INVALID', `the release of app ${app} cannot be deployed:\n${problems.map((p) => `  ${p}`).join('\n')}`, {
      details: { app, problems },
    });
  }
  return parsed.data as ReleasePlan;
}
