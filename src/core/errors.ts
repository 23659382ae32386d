/**
 * Errors that people read. Each says what went wrong in one line and keeps the
 * underlying error as `cause`, so nothing is lost when it is wrapped.
 */
export class EmbodyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A file or config that does not fit its schema: message names the file, the path and the reason. */
export class ValidationError extends EmbodyError {
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An action or call that breaks an Env or Controller contract. */
export class ContractError extends EmbodyError {}

/** Something the user asked for does not exist (scene, controller, run, backend). */
export class NotFoundError extends EmbodyError {}

/** Turn anything thrown into a short line for the CLI, following the cause chain. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof Error) {
      parts.push(e.message);
      // A ValidationError's message already holds every `file: path: reason` line; its cause
      // (zod's issue list as JSON, a SyntaxError) is kept for programs, not printed for people.
      if (e instanceof ValidationError) break;
      e = (e as Error & { cause?: unknown }).cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join('\n  caused by: ');
}
