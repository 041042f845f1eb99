/**
 * `next` applied to a value that is usually there at once and only sometimes a promise (a device's
 * signature check on first sight): synchronously when it can be, so the common case pays no
 * promise and no turn of the event loop.
 */
export function whenSettled<T, R>(value: T | Promise<T>, next: (value: T) => R | Promise<R>): R | Promise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/** Every value, at once when none is a promise. */
export function allSettled<T>(values: readonly (T | Promise<T>)[]): T[] | Promise<T[]> {
  return values.some((value) => value instanceof Promise) ? Promise.all(values) : (values as T[]);
}
