/**
 * The containers' records kept true to the runtime (docs/containers.md): a container
 * exists in the runtime only between a create (at start, or at attach before start) and
 * the delete that follows its exit. When it ends, its status is recorded and it is deleted
 * from the runtime (its writable layer and log stay); with autoRemove it is removed. When
 * the daemon starts, every record is reconciled with what the runtime has: a container
 * that is gone (a reboot) is exited, one that ended while the daemon was away is recorded,
 * a running one is watched. Each function here runs under the container's lock.
 */
import { rm } from 'node:fs/promises';
import type { Logger } from '../core/index.js';
import { isRuntimeMissing, type AttachExit, type RuntimeClient } from '../runtime/index.js';
import type { ContainerRecords } from './records.js';
import type { ContainerRecord, ExitStatus } from './types.js';
import type { ExitWatcher } from './watcher.js';

/** What the reconciling side of the manager works with. */
export interface ContainerContext {
  records: ContainerRecords;
  runtime: RuntimeClient;
  watcher: ExitWatcher;
  log: Logger;
}

/** `delete --force`, where a container the runtime no longer has is already what was asked. */
export async function deleteFromRuntime(runtime: RuntimeClient, id: string): Promise<void> {
  try {
    await runtime.delete(id, { force: true });
  } catch (e) {
    if (!isRuntimeMissing(e)) throw e;
  }
}

/**
 * Remove the container: out of the runtime (unless `deleted` says it is out already), its
 * directory (writable layer, log) and its record.
 */
export async function removeContainer(c: ContainerContext, rec: ContainerRecord, status?: ExitStatus, deleted = false): Promise<void> {
  // An exited container nobody watches is out of the runtime already: its exit was recorded
  // with the runtime's delete (recordExit), and only a create (which watches) brings it back.
  const inRuntime = !deleted && (rec.state !== 'exited' || c.watcher.watching(rec.id) !== undefined);
  // Stop watching first: the runtime's delete below ends the watch's connection.
  c.watcher.drop(rec.id, status ?? (rec.exitCode === undefined ? undefined : { exitCode: rec.exitCode }));
  if (inRuntime) await deleteFromRuntime(c.runtime, rec.id);
  await rm(c.records.containerDir(rec.id), { recursive: true, force: true });
  c.records.forget(rec.id);
  c.log.info({ id: rec.id, name: rec.name }, 'container removed');
}

/**
 * The container has stopped in the runtime (or is gone from it): record its status,
 * delete it from the runtime, and remove it if it was created with autoRemove. Undefined
 * while it still runs (or waits for its start), or when there is no record of it. `known`
 * is the monitor's exit frame (exit.json's content), when the caller has it: then the
 * runtime is not asked again.
 */
export async function recordExit(c: ContainerContext, id: string, known?: AttachExit): Promise<ExitStatus | undefined> {
  const exit = known ?? (await c.runtime.exitStatus(id));
  if (exit === undefined && (await c.runtime.exists(id))) return undefined; // created or running
  // A monitor with berth.delete-on-exit has deleted it already (its exit frame says so).
  if (exit !== undefined && known?.deleted !== true) await deleteFromRuntime(c.runtime, id);
  const rec = c.records.get(id);
  if (!rec) return undefined;
  const status: ExitStatus = {
    exitCode: exit?.exitCode ?? 255,
    ...(exit?.signal ? { signal: exit.signal } : {}),
    ...(exit?.oomKilled ? { oomKilled: true } : {}),
  };
  if (rec.state === 'running') {
    rec.state = 'exited';
    rec.exitCode = status.exitCode;
    if (status.signal) rec.signal = status.signal;
    else delete rec.signal;
    rec.oomKilled = status.oomKilled ?? false;
    rec.finishedAt = exit?.finishedAt ?? new Date().toISOString();
    delete rec.pid;
    delete rec.network;
    await c.records.save(rec);
    c.log.info({ id, name: rec.name, exitCode: rec.exitCode }, 'container exited');
    if (rec.autoRemove) await removeContainer(c, rec, status, true);
  }
  return status;
}

/** One record against the runtime, as the daemon starts. */
export async function reconcileContainer(c: ContainerContext, id: string): Promise<void> {
  const rec = c.records.get(id);
  if (!rec) return;
  if (rec.transient) {
    // Its operation (a build step) died with the daemon before this one.
    c.log.info({ id, name: rec.name }, 'removing a transient container left by the daemon before');
    await removeContainer(c, rec);
    return;
  }
  const status = await c.runtime.status(id);
  if (status === undefined) {
    if (rec.state === 'running') {
      // Gone with the runtime's state (a reboot, or /run lost): Docker's 255.
      Object.assign(rec, { state: 'exited', exitCode: 255, finishedAt: new Date().toISOString() });
      delete rec.pid;
      delete rec.network;
      await c.records.save(rec);
      c.log.info({ id, name: rec.name }, 'container is gone from the runtime: recorded as exited');
      if (rec.autoRemove) await removeContainer(c, rec, undefined, true);
    }
    return;
  }
  if (status === 'stopped' || status === 'creating') {
    await recordExit(c, id);
    return;
  }
  if (status === 'running' && rec.state !== 'running') {
    rec.state = 'running';
    await c.records.save(rec);
  } else if (status === 'created' && rec.state === 'running') {
    rec.state = 'created'; // the daemon stopped between the runtime's create and start
    await c.records.save(rec);
  }
  await c.watcher.watch(id);
}

/**
 * Load the records and reconcile each with the runtime (`network gc` first, so leases of
 * containers whose state is gone are free). `locked` runs a step under the container's lock.
 */
export async function reconcileAll(c: ContainerContext, locked: <T>(id: string, fn: () => Promise<T>) => Promise<T>): Promise<void> {
  try {
    for (const line of await c.runtime.networkGc()) c.log.info(line);
  } catch (err) {
    c.log.warn({ err }, 'berth-runtime network gc failed');
  }
  for (const id of await c.records.load()) {
    // A create that crashed before its record was written: nothing refers to it.
    c.log.warn({ id }, 'removing a container directory without container.json (an interrupted create)');
    await c.runtime.delete(id, { force: true }).catch(() => undefined);
    await rm(c.records.containerDir(id), { recursive: true, force: true });
  }
  for (const id of c.records.ids()) {
    await locked(id, () => reconcileContainer(c, id)).catch((err: unknown) => c.log.error({ err, id }, 'reconcile failed'));
  }
}
