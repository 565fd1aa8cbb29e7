/** The message of anything thrown. Duck-typed: errors from Node internals (fetch, zlib) or another
 * realm (jest's sandbox) are not always `instanceof Error` here. */
export function errorMessage(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

/** The message of an error's cause when it has one (fetch says only "fetch failed"; the cause says why). */
export function rootCauseMessage(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause ? errorMessage(cause) : errorMessage(error);
}
