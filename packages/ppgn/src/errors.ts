/** Thrown for invalid user-supplied parameters (labels, ε, masks, steps…). The engine stays usable. */
export class PpgnInputError extends Error {
  readonly field?: string;
  constructor(message: string, field?: string) {
    super(message);
    this.name = 'PpgnInputError';
    this.field = field;
  }
}

/** Thrown when a model pack (manifest, network spec, weights) is invalid. Message names file and field. */
export class PpgnPackError extends Error {
  readonly file: string;
  readonly field?: string;
  constructor(file: string, field: string | undefined, message: string) {
    super(field ? `${file}: ${field}: ${message}` : `${file}: ${message}`);
    this.name = 'PpgnPackError';
    this.file = file;
    this.field = field;
  }
}

export function inputCheck(cond: boolean, message: string, field?: string): asserts cond {
  if (!cond) throw new PpgnInputError(message, field);
}

export function finiteNumber(
  v: unknown,
  field: string,
  opts: { min?: number; max?: number; integer?: boolean } = {},
): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new PpgnInputError(`${field} must be a finite number (got ${String(v)})`, field);
  if (opts.integer && !Number.isInteger(v)) throw new PpgnInputError(`${field} must be an integer (got ${v})`, field);
  if (opts.min !== undefined && v < opts.min)
    throw new PpgnInputError(`${field} must be >= ${opts.min} (got ${v})`, field);
  if (opts.max !== undefined && v > opts.max)
    throw new PpgnInputError(`${field} must be <= ${opts.max} (got ${v})`, field);
  return v;
}
