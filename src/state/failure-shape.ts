/**
 * The shape of a failure message: what stays when the parts that differ from host to host for the same failure
 * are replaced by placeholders - URLs, GUIDs, run ids, temp paths, timestamps, PIDs, ports and hashes. Failures are
 * grouped by outcome, reason and this shape, so 200 hosts that failed the same way are one group although every
 * message names its own PID or port. The group still shows one host's exact message.
 */

/** Replacements in order: wider patterns first, so a URL's port is part of `<url>`, not a separate `<port>`. */
const RULES: ReadonlyArray<[RegExp, string]> = [
  [/\bhttps?:\/\/[^\s"'<>)]+/gi, '<url>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<guid>'],
  [/\b\d{8}T\d{6}Z-[0-9a-f]{4}\b/g, '<run>'],
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g, '<time>'],
  // Temp directories: POSIX ones, %TEMP% and the Windows temp folders, up to the next space or quote.
  [/(?:\/(?:var\/)?tmp\/|%TEMP%\\|[A-Za-z]:\\(?:Windows\\Temp|Users\\[^\\\s]+\\AppData\\Local\\Temp)\\)[^\s"';,)]*/gi, '<temp>'],
  [/\b(pid|process(?: id)?)(\s*[=:]?\s*)\d+/gi, '$1$2<n>'],
  [/\b(port)(\s*[=:]?\s*)\d+/gi, '$1$2<n>'],
  // host:port (127.0.0.1:40123, [::1]:40123, web01:5986)
  [/([\w\].-]):\d{2,5}\b/g, '$1:<port>'],
  [/\b[0-9a-f]{12,64}\b/g, '<hash>'],
];

export function failureShape(message: string): string {
  let out = message;
  for (const [re, to] of RULES) out = out.replace(re, to);
  return out;
}
