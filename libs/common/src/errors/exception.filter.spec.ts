import { UnsealError } from '../crypto/secret-box';
import { ErrorCode } from './app-error';
import { toAppError } from './exception.filter';

describe('toAppError and a stored value that does not decrypt', () => {
  it('answers 409 conflict with the remedy, not a 500, and does not show which key was missing', () => {
    const error = toAppError(new UnsealError('sealed under key k_0123abcd, which the key ring no longer lists'));
    expect(error.status).toBe(409);
    expect(error.code).toBe(ErrorCode.Conflict);
    expect(error.toBody()).toEqual({ status: 409, detail: [{ msg: expect.stringMatching(/no longer has.*set it again/), type: 'conflict' }] });
    expect(JSON.stringify(error.toBody())).not.toContain('k_0123abcd');
  });

  it('leaves other errors to the 500 they were', () => {
    expect(toAppError(new Error('sealed under key k_0123abcd')).status).toBe(500);
  });
});
