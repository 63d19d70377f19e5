/**
 * A program under a real pseudo-terminal, driven step by step: python3's pty module holds
 * the terminal (Node has none), so an interactive shell (`berth container:run -it`,
 * `podman run -it`, `ctr run -t`) can be typed into and read as a user would.
 */
import { spawn } from 'node:child_process';
import { requireBinary } from './prereq.js';

const ptyDriver = String.raw`
import fcntl, json, os, pty, re, select, struct, sys, termios, time
spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', spec['rows'], spec['cols'], 0, 0))
    os.execv(spec['argv'][0], spec['argv'])
out = b''
pos = 0
def pump(timeout):
    global out
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return True
    try:
        data = os.read(fd, 65536)
    except OSError:
        return False
    if not data:
        return False
    out += data
    return True
def finish(error=None):
    status = None
    deadline = time.time() + 20
    while time.time() < deadline:
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            status = os.waitstatus_to_exitcode(st)
            break
        pump(0.1)
    while select.select([fd], [], [], 0.1)[0]:
        if not pump(0):
            break
    if status is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        error = error or 'the program did not exit within 20 s'
    print(json.dumps({'status': status, 'output': out.decode('utf8', 'replace'), 'error': error}))
    sys.exit(0)
for step in spec['steps']:
    if 'send' in step:
        os.write(fd, step['send'].encode())
    elif 'resize' in step:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', step['resize'][0], step['resize'][1], 0, 0))
    elif 'sleep' in step:
        time.sleep(step['sleep'])
    elif 'expect' in step:
        rx = re.compile(step['expect'].encode())
        deadline = time.time() + 20
        while True:
            m = rx.search(out, pos)
            if m:
                pos = m.end()
                break
            if time.time() > deadline or not pump(min(0.2, max(0, deadline - time.time()))):
                if not rx.search(out, pos):
                    os.kill(pid, 9)
                    finish('expected %r' % step['expect'])
finish()
`;

/** What the driver does in turn: type, wait for a regular expression, resize the terminal, pause. */
export type Step = { send: string } | { expect: string } | { resize: [number, number] } | { sleep: number };

/**
 * Run argv on a fresh pseudo-terminal of `size` (rows, cols) and drive it through `steps`
 * (20 s per expect, 90 s in all): its exit status, everything it wrote, and the first
 * step that failed.
 */
export function underPty(
  argv: string[],
  env: NodeJS.ProcessEnv,
  size: [number, number],
  steps: Step[],
): Promise<{ status: number | null; output: string; error: string | null }> {
  requireBinary('/usr/bin/python3', 'python3');
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', ['-c', ptyDriver, JSON.stringify({ argv, rows: size[0], cols: size[1], steps })], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 90_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(stdout) as { status: number | null; output: string; error: string | null });
      } catch {
        reject(new Error(`the pty driver exited ${code}: ${stderr}${stdout}`));
      }
    });
  });
}
