/**
 * npm run lexicon -w @ppgn/train -- [--pack models/emoji64]
 *
 * Writes the pack's keyword lexicon (`<condition>.lexicon.json`: words of many languages → its keywords) and
 * names it in the manifest. The emoji annotations it is built from install on first use (about 7 MB) into the
 * training data cache, beside (not inside) the emoji art.
 */
import * as path from 'node:path';
import { repoRoot } from '../data/fetch';
import { writePackLexicons } from '../lexicon';
import { parseArgs } from './args';

const HELP = `usage: npm run lexicon -w @ppgn/train -- [--pack DIR]
  --pack DIR   the model pack whose keyword conditions get a lexicon (default models/emoji64)`;

const a = parseArgs(process.argv.slice(2));
if (a.help || a.h) console.log(HELP);
else {
  try {
    writePackLexicons(path.resolve(repoRoot(), typeof a.pack === 'string' ? a.pack : path.join('models', 'emoji64')));
  } catch (e) {
    console.error(`[lexicon] error: ${(e as Error).message}`);
    process.exit(1);
  }
}
