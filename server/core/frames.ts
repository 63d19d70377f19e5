/**
 * The framing of Berth's interactive streams (docs/api.md, "Streams"): the monitor's attach
 * socket, and the API's upgraded attach and exec connections, carry the same frames.
 *
 * A frame is Docker's stdcopy header, 8 bytes `[type u8][0 0 0][length u32 big-endian]`,
 * then `length` bytes. Docker's multiplexed logs only go one way; here both ends send
 * frames, so stdin, a terminal resize and the end of stdin travel on one connection.
 *
 * Hand-written: there is no maintained npm codec for this header, and it is 40 lines.
 */
import { BerthError } from './errors.js';

export const frameTypes = {
  /** client → container: bytes for the program's stdin (or terminal). */
  stdin: 0,
  /** container → client: the program's stdout (everything, with a terminal). */
  stdout: 1,
  /** container → client: the program's stderr. */
  stderr: 2,
  /** API → client, last frame: JSON `{"exitCode": N, "signal"?: "...", "oomKilled"?: B}`. */
  exit: 3,
  /** client → container: 4 bytes, rows then columns, each u16 big-endian. */
  resize: 4,
  /** client → container: no payload; the program's stdin ends (EOF; ^D on a terminal). */
  closeStdin: 5,
  /** client → monitor: no payload; start the created container (as the runtime's `start`). */
  start: 6,
} as const;

export type FrameType = (typeof frameTypes)[keyof typeof frameTypes];

export interface Frame {
  type: FrameType;
  payload: Buffer;
}

/** The largest payload either end accepts; a longer frame is a protocol error. */
export const MAX_FRAME_PAYLOAD = 1 << 20;

export const FRAME_HEADER_BYTES = 8;

const known = new Set<number>(Object.values(frameTypes));

export function encodeFrame(type: FrameType, payload: Uint8Array | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (body.length > MAX_FRAME_PAYLOAD) {
    throw new BerthError('E_BERTH_INTERNAL', `a frame of ${body.length} bytes is over the ${MAX_FRAME_PAYLOAD}-byte limit: split it`);
  }
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

export function encodeResize(rows: number, cols: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt16BE(Math.max(0, Math.min(65535, Math.trunc(rows))), 0);
  p.writeUInt16BE(Math.max(0, Math.min(65535, Math.trunc(cols))), 2);
  return encodeFrame(frameTypes.resize, p);
}

export function decodeResize(payload: Buffer): { rows: number; cols: number } {
  if (payload.length !== 4) throw new BerthError('E_STREAM_INVALID', `a resize frame carries 4 bytes, not ${payload.length}`);
  return { rows: payload.readUInt16BE(0), cols: payload.readUInt16BE(2) };
}

/**
 * Splits a byte stream into frames. `push` returns the frames completed by a chunk; a
 * frame of an unknown type, with non-zero padding, or over MAX_FRAME_PAYLOAD throws
 * E_STREAM_INVALID: the connection is then to be closed, since the stream is out of step.
 */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Frame[] = [];
    for (;;) {
      if (this.pending.length < FRAME_HEADER_BYTES) return out;
      const type = this.pending.readUInt8(0);
      const length = this.pending.readUInt32BE(4);
      if (!known.has(type) || this.pending.readUIntBE(1, 3) !== 0) {
        throw new BerthError('E_STREAM_INVALID', `not a Berth stream frame: header ${this.pending.subarray(0, FRAME_HEADER_BYTES).toString('hex')}`);
      }
      if (length > MAX_FRAME_PAYLOAD) {
        throw new BerthError('E_STREAM_INVALID', `a frame of ${length} bytes is over the ${MAX_FRAME_PAYLOAD}-byte limit`);
      }
      if (this.pending.length < FRAME_HEADER_BYTES + length) return out;
      out.push({ type: type as FrameType, payload: Buffer.from(this.pending.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length)) });
      this.pending = this.pending.subarray(FRAME_HEADER_BYTES + length);
    }
  }

  /** Bytes of an unfinished frame: non-zero when a stream ends mid-frame. */
  get buffered(): number {
    return this.pending.length;
  }
}
