// Shared by the command-line tools: errors that carry an exit code, pack lookup by name.
import { type Pack } from '@ppgn/core';
import { openPack as openPackIn, resolveModelsDir, UnknownPackError } from '@ppgn/core/node';
import { REPO_ROOT } from '../config';

export const modelsDir = () => resolveModelsDir(REPO_ROOT);

/** A user-facing CLI error: printed as one line, exits with `code` (2 = bad arguments). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 2,
  ) {
    super(message);
  }
}

/** Open a pack from the models directory (or a built-in random pack); unknown names are CliErrors. */
export async function openPack(name: string): Promise<Pack> {
  try {
    return await openPackIn(name, modelsDir());
  } catch (e) {
    if (e instanceof UnknownPackError) throw new CliError(e.message);
    throw e;
  }
}
