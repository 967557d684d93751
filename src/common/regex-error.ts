/** The reason part of a RegExp SyntaxError, without V8's "Invalid regular expression: /src/: " prefix. */
export function regexErrorReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
}
