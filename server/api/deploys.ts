/**
 * /v1/apps/:app/deploys: the deploys of an app (docs/api.md, "Deploys"), and /v1/deploys,
 * those of every app. `POST` is what the pre-receive hook sends for each pushed branch: the
 * deploy branch is checked, queued and its output streamed back as it happens (git shows
 * each line as `remote: …`); another branch is answered at once, without a deploy. The
 * stream follows the job; it is not the job's lifeline: a client that goes away stops the
 * stream, never the deploy (`POST …/cancel` does that).
 */
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import { BerthError, type Logger } from '../core/index.js';
import { admitPush, checkNotice, checkRefUnmoved, pushVerdict, type GitApps, type PushLimits } from '../git/index.js';
import { parseJobId, type DeployQueue, type JobId, type JobInfo } from '../queue/index.js';
import { streamNdjson, type NdjsonOut } from './ndjson.js';
import { flagParam, bodyOf } from './params.js';
import type { DeployProgress, DeployResultView } from './wire.js';

/** What the deploys routes use: the queue, the apps store (git's view of it) and the push checks' limits. */
export interface DeployService {
  queue: Pick<DeployQueue, 'enqueue' | 'info' | 'list' | 'output' | 'wait' | 'cancel'>;
  apps: GitApps;
  limits: PushLimits;
}

const pushBody = z.object({ commit: z.string(), ref: z.string(), old: z.string().optional(), quarantine: z.string().optional() }).strict();

const appOf = (req: Request): string => String(req.params.app);

/** `12`, or the full `hello.12`, of app `app`: its job id. */
function jobIdOf(app: string, given: string): JobId {
  const id = /^\d+$/.test(given) ? `${app}.${given}` : given;
  const parsed = parseJobId(id);
  if (parsed.app !== app) throw new BerthError('E_QUEUE_JOB_NOT_FOUND', `job ${id} is not one of app ${app}'s`, { details: { id } });
  return id;
}

/** `current`: the app's running job, else its newest one. */
async function currentJob(service: DeployService, app: string): Promise<JobId> {
  const jobs = await service.queue.list(app);
  const job = jobs.find((j) => j.state === 'running') ?? jobs[0];
  if (job === undefined) throw new BerthError('E_QUEUE_JOB_NOT_FOUND', `app ${app} has no builds yet`, { hint: 'Push to the app first: git push berth main.' });
  return job.id;
}

/**
 * Stream a job's output events: lines as lines, stages and trimmed-off counts as progress.
 * Ends at the job's end event (or, without `follow`, at the last event written so far).
 */
async function relayOutput(service: DeployService, id: JobId, follow: boolean, out: NdjsonOut<DeployProgress, string>): Promise<void> {
  for await (const event of service.queue.output(id, { follow, signal: out.signal })) {
    if (event.type === 'line') await out.line(event.text);
    else if (event.type === 'stage') await out.progress({ stage: event.stage });
    else if (event.type === 'dropped') await out.progress({ dropped: event.count });
    else break;
  }
}

/** The routes of one app's deploys; mounted at /v1/apps/:app/deploys. */
export function deploysRouter(service: DeployService, log: Logger): Router {
  const r = express.Router({ mergeParams: true });

  r.post('/', async (req, res) => {
    const app = appOf(req);
    const notice = bodyOf(pushBody, req);
    checkNotice(notice);
    const record = await service.apps.get(app);
    const repo = service.apps.paths(app).repo;
    // Pushes to one app run one at a time (git/push-lock.ts): a branch moved since this push read it stays refused.
    await checkRefUnmoved(repo, notice);
    const verdict = await pushVerdict(record, repo, notice.ref);
    if (!verdict.deploy) {
      await streamNdjson<DeployProgress, string, DeployResultView>(res, log, `a push to app ${app}`, async (out) => {
        await out.line(`Pushed to ${verdict.branch}: not the deploy branch (${verdict.deployBranch}), no deploy.`);
        return { deployed: false, branch: verdict.branch, deployBranch: verdict.deployBranch };
      });
      return;
    }
    // Checked before anything is queued: a bad commit is a plain error answer, and nothing runs.
    await admitPush(repo, notice, service.limits);
    const id = await service.queue.enqueue(app, { kind: 'push', commit: notice.commit, ref: notice.ref });
    await streamNdjson<DeployProgress, string, DeployResultView>(res, log, `deploy ${id}`, async (out) => {
      await out.progress({ id });
      const info = await service.queue.info(id);
      if (info.state === 'queued' && info.waitingFor !== undefined) {
        await out.line(`Deploy ${id} is queued: ${info.waitingFor}${info.ahead && info.ahead > 1 ? ` (${info.ahead} ahead of it)` : ''}.`);
      }
      await relayOutput(service, id, true, out);
      if (out.signal.aborted) return undefined;
      return { deployed: true, branch: verdict.branch, id, result: await service.queue.wait(id, { signal: out.signal }) };
    });
  });

  r.get('/', async (req, res) => {
    const app = appOf(req);
    await service.apps.get(app);
    res.json(await service.queue.list(app));
  });

  r.post('/cancel', async (req, res) => {
    const app = appOf(req);
    await service.apps.get(app);
    res.json(await service.queue.cancel(app));
  });

  r.get('/:id', async (req, res) => {
    const app = appOf(req);
    await service.apps.get(app);
    const id = req.params.id === 'current' ? await currentJob(service, app) : jobIdOf(app, String(req.params.id));
    res.json(await service.queue.info(id));
  });

  r.get('/:id/output', async (req, res) => {
    const app = appOf(req);
    const follow = flagParam(req.query, 'follow');
    await service.apps.get(app);
    const id = req.params.id === 'current' ? await currentJob(service, app) : jobIdOf(app, String(req.params.id));
    const first = await service.queue.info(id); // an unknown job is a plain 404 answer, not a stream
    await streamNdjson<DeployProgress, string, JobInfo>(res, log, `the output of ${id}`, async (out) => {
      await out.progress({ id: first.id });
      await relayOutput(service, id, follow, out);
      return out.signal.aborted ? undefined : service.queue.info(id);
    });
  });
  return r;
}

/** `GET /v1/deploys`: the deploys of every app, newest first. */
export function allDeploysRouter(service: DeployService): Router {
  const r = express.Router();
  r.get('/', async (_req, res) => {
    res.json(await service.queue.list());
  });
  return r;
}
