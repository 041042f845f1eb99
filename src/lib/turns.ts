/**
 * Async work one piece at a time, in the order asked: each starts once the one before it has
 * ended, failed or not (a failure is its caller's, never the next one's).
 */
export class Turns {
  private last: Promise<unknown> = Promise.resolve();

  take<T>(work: () => T | Promise<T>): Promise<T> {
    const result = this.last.then(work);
    this.last = result.catch(() => undefined);
    return result;
  }

  /** Once every turn taken so far has ended. */
  async ended(): Promise<void> {
    await this.last;
  }
}
