// A keyword condition's lexicon (words of many languages → the pack's keywords), fetched once per URL from the
// engine and shared by every keyword box: "gato feliz" shows as gato → cat, feliz → happy while typing.
import { useEffect, useState } from 'react';
import { lexiconFrom, type Lexicon } from '@ppgn/shared';

export type LexiconState =
  | { status: 'none' }
  | { status: 'loading' }
  | { status: 'ready'; lexicon: Lexicon }
  | { status: 'failed'; message: string };

const loaded = new Map<string, Promise<Lexicon>>();

async function fetchLexicon(url: string, vocabulary: string[]): Promise<Lexicon> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`the engine is unreachable (${(err as Error).message})`);
  }
  if (!res.ok) throw new Error(`the engine answered ${res.status}`);
  const body = (await res.json()) as { words?: Record<string, string> };
  if (!body || typeof body.words !== 'object') throw new Error('the engine sent no word list');
  return lexiconFrom(body.words, vocabulary);
}

/** The lexicon at `url` (null: the condition has none), loaded once per page; a failure is retried on the next mount. */
export function useLexicon(url: string | null, vocabulary: string[]): LexiconState {
  const [state, setState] = useState<LexiconState>(url ? { status: 'loading' } : { status: 'none' });
  useEffect(() => {
    if (!url) {
      setState({ status: 'none' });
      return;
    }
    let live = true;
    let p = loaded.get(url);
    if (!p) {
      p = fetchLexicon(url, vocabulary);
      loaded.set(url, p);
      p.catch(() => loaded.delete(url));
    }
    setState({ status: 'loading' });
    p.then(
      (lexicon) => live && setState({ status: 'ready', lexicon }),
      (err: Error) => live && setState({ status: 'failed', message: err.message }),
    );
    return () => {
      live = false;
    };
  }, [url, vocabulary]);
  return state;
}
