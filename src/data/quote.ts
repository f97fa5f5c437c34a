/**
 * Input text as error messages may quote it: JSON-quoted and cut to `max` characters, so a
 * 7 MB metric name costs a message a few hundred bytes, not megabytes (docs/errors.md).
 */
export function quoteInput(text: string, max = 200): string {
  if (text.length <= max) return JSON.stringify(text);
  // Never cut a surrogate pair in half: the quoted string stays valid UTF-16.
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${JSON.stringify(text.slice(0, end))}…(${text.length} chars)`;
}
