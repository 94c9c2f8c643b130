// Bounds every step of a cell, so a method that hangs becomes a `timeout` row instead of a stuck run.

/** Thrown when a step runs past its limit. */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/**
 * Resolves as `promise` does, or rejects with {@link TimeoutError} after `ms`. The step itself
 * cannot be cancelled (GPU work and foreign promises have no abort): it is abandoned.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TimeoutError(`${what} ran past its time limit of ${ms / 1000} s`)),
      ms,
    );
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}
