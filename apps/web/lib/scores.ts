// What a score name means, and the same score on one 0–1 scale (higher = closer to what the condition asks for),
// so that a chart can hold a class probability, a keyword, a hidden unit and a reference picture together.

export interface ScoreMeaning {
  /** what people read in the legend */
  label: string;
  /** what the number measures */
  tip: string;
  /** the value on 0–1 */
  unit(v: number): number;
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

export function scoreMeaning(name: string): ScoreMeaning {
  const m = /^(\w+)\((.*)\)$/.exec(name);
  const [kind, arg] = m ? [m[1]!, m[2]!] : ['', name];
  switch (kind) {
    case 'p':
      return { label: name, tip: `the classifier's probability of “${arg}”`, unit: clamp01 };
    case 'kw':
      return { label: `“${arg}”`, tip: `the keyword head's probability of “${arg}”`, unit: clamp01 };
    case 'unit':
      return {
        label: `unit ${arg}`,
        tip: `how strongly hidden unit ${arg} fires (its activation a, drawn as a / (1 + |a|) so that 0.5 is a = 1)`,
        unit: (v) => clamp01(v / (1 + Math.abs(v))),
      };
    case 'refDist':
      return {
        label: 'reference picture',
        tip: `how close the frame's ${arg} features are to the reference picture's (a distance d, drawn as 1 / (1 + d): 1 is identical)`,
        unit: (v) => 1 / (1 + Math.max(0, v)),
      };
    default:
      return { label: name, tip: name, unit: clamp01 };
  }
}
