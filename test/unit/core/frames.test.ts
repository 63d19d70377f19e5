/** The stream frames of attach and exec: Docker's stdcopy header, both ways. */
import test from 'ava';
import { BerthError, FrameDecoder, MAX_FRAME_PAYLOAD, decodeResize, encodeFrame, encodeResize, frameTypes } from '../../../server/core/index.js';

test('a frame is the 8-byte header then the payload', (t) => {
  t.is(encodeFrame(frameTypes.stdout, 'hi\n').toString('hex'), '0100000000000003' + Buffer.from('hi\n').toString('hex'));
  t.is(encodeFrame(frameTypes.closeStdin).toString('hex'), '0500000000000000');
});

test('the decoder splits frames across and within chunks', (t) => {
  const bytes = Buffer.concat([encodeFrame(frameTypes.stdout, 'one'), encodeFrame(frameTypes.stderr, 'two'), encodeResize(24, 80)]);
  const d = new FrameDecoder();
  const got = [];
  for (let i = 0; i < bytes.length; i += 5) got.push(...d.push(bytes.subarray(i, i + 5)));
  t.deepEqual(
    got.map((f) => [f.type, f.payload.toString('hex')]),
    [
      [1, Buffer.from('one').toString('hex')],
      [2, Buffer.from('two').toString('hex')],
      [4, '00180050'],
    ],
  );
  t.deepEqual(decodeResize(got[2]!.payload), { rows: 24, cols: 80 });
  t.is(d.buffered, 0);
  t.is(d.push(encodeFrame(frameTypes.stdin, 'abc').subarray(0, 9)).length, 0);
  t.is(d.buffered, 9);
});

test('an unknown type, padding or an oversize length is refused', (t) => {
  const bad = (hex: string) => t.throws(() => new FrameDecoder().push(Buffer.from(hex, 'hex')), { instanceOf: BerthError });
  bad('0900000000000000');
  bad('0101000000000000');
  const big = Buffer.alloc(8);
  big.writeUInt8(1, 0);
  big.writeUInt32BE(MAX_FRAME_PAYLOAD + 1, 4);
  t.throws(() => new FrameDecoder().push(big), { message: /over the/ });
  t.throws(() => encodeFrame(frameTypes.stdin, Buffer.alloc(MAX_FRAME_PAYLOAD + 1)), { message: /split it/ });
  t.throws(() => decodeResize(Buffer.alloc(3)), { message: /4 bytes/ });
});
