/**
 * Checks of numeric options, at construction and per call: the values feed
 * `setTimeout`, `setInterval` and `AbortSignal.timeout`, which take whole
 * milliseconds up to 2^31 - 1 (past it `setTimeout` fires at once, and
 * `AbortSignal.timeout` throws a bare `RangeError` for fractions).
 */
import { InvalidConnectivityOptionError } from './errors.ts'

/** The longest delay a timer takes, ms */
export const MAX_TIMER_DELAY = 2 ** 31 - 1

/** `value` if it is a whole number in 1..MAX_TIMER_DELAY (0 too with `allowZero`), else throws `InvalidConnectivityOptionError` */
export function wholeNumber (name: string, value: unknown, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1) || value > MAX_TIMER_DELAY) {
    throw new InvalidConnectivityOptionError(`${name} must be a whole number from ${allowZero ? 0 : 1} to ${MAX_TIMER_DELAY}, got ${String(value)}`)
  }

  return value
}
