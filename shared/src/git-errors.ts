/** git's closing advice after a failed remote operation: true of every failure, so it says nothing. */
const BOILERPLATE = /^(please make sure you have the correct access rights|and the repository exists\.?)$/i;

/**
 * What to tell a user about git's stderr (installer and indexer alike): its lines without hints and closing
 * advice, joined. Over ssh the cause
 * ("Host key verification failed.", "Permission denied (publickey).") comes first and git's advice last, so the
 * last line alone would say nothing.
 */
export function gitErrorSummary(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !BOILERPLATE.test(l) && !/^hint:/i.test(l));
  // Long output: the first line (often the cause) and the last ones (git's verdict).
  const kept = lines.length <= 4 ? lines : [lines[0]!, '…', ...lines.slice(-3)];
  const text = kept.join(' ');
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
