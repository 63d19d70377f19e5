/**
 * One push at a time per app (docs/git.md, "Two pushes at once"): every git-receive-pack on an
 * app's repository, over HTTP or SSH, runs holding this daemon's lock of that repository, from
 * before git starts until git has exited. So the ref updates of one push are written before
 * the pre-receive hook of the next one runs, and that hook can tell that the branch it was
 * based on has moved (E_GIT_REF_MOVED, push.ts `checkRefUnmoved`) before anything deploys.
 * Fetches (git-upload-pack) never take it. Keyed by the repository's path, which names one app
 * of one BERTH_HOME.
 */
import { KeyedLock } from '../core/index.js';

const pushes = new KeyedLock();

/** Whether a push to `repo` is running now (the next one waits). */
export function pushRunning(repo: string): boolean {
  return pushes.held(repo);
}

/**
 * Wait for the pushes to `repo` ahead of this one, then hold the lock until the returned
 * release is called (once git has exited; later calls do nothing).
 */
export function acquirePush(repo: string): Promise<() => void> {
  return new Promise((acquired) => {
    void pushes.run(
      repo,
      () =>
        new Promise<void>((release) => {
          let done = false;
          acquired(() => {
            if (done) return;
            done = true;
            release();
          });
        }),
    );
  });
}

/** What a push that waits is told. */
export function waitingMessage(app: string): string {
  return `Another push to app ${app} is running: this one waits for it to end.`;
}
