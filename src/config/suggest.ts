/** "Did you mean" for unknown keys: the closest known key, when it is close enough to be a typo. */

/** Lower case without `_` and `-`, so `client_id`, `client-id` and `ClientID` all meet `clientId`. */
function normalize(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

/** Optimal string alignment distance: Levenshtein plus swapping two neighbours counts as one edit. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2][j - 2] + 1);
      d[i][j] = best;
    }
  }
  return d[a.length][b.length];
}

/** The candidate `key` was most likely meant to be, or undefined when none is plausibly a typo of it. */
export function closestKey(key: string, candidates: readonly string[]): string | undefined {
  // A dotted key written as nesting (`topic:` holding `regex: { list: ... }`) starts like the real one.
  const dotted = candidates.find((candidate) => candidate.startsWith(`${key}.`));
  if (dotted !== undefined) return dotted;
  const wanted = normalize(key);
  // Roughly one typo per four characters, at least one: `lingerms` -> `lingerMs`, but `foo` -> nothing.
  const tolerance = Math.max(1, Math.floor(wanted.length / 4));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, normalize(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= tolerance ? best : undefined;
}
