/**
 * Hostile strings for the "values are data, never code" tests. `pwnedPath` is a file that any of them would create
 * if it were ever executed by PowerShell (or a shell): tests assert it never appears.
 */
export function hostileCorpus(pwnedPath: string): Record<string, string> {
  return {
    doubleQuotes: 'say "hi" and "bye"',
    singleQuotes: "it's 'quoted'",
    smartQuotes: '\u2018single\u2019 \u201cdouble\u201d \u201elow\u201c \u201brev\u201f',
    smartQuoteBreakout: `\u2019; New-Item -ItemType File -Path '${pwnedPath}'; \u2018`,
    subexpression: `$(New-Item -ItemType File -Path '${pwnedPath}')`,
    smartSubexpression: `\u201c$(New-Item -ItemType File -Path '${pwnedPath}')\u201d`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: PowerShell's ${env:HOME} braced variable, meant literally
    variable: '$env:PATH ${env:HOME} $null',
    backticks: 'a `whoami` b `$x `` `n',
    semicolon: `a; New-Item -ItemType File -Path '${pwnedPath}'`,
    pipe: `a | Out-File '${pwnedPath}'`,
    ampersand: `a & touch ${pwnedPath} && b || c`,
    newlines: `line1\nNew-Item -ItemType File -Path '${pwnedPath}'\r\nline3`,
    stopParsing: '--% $(whoami) %PATH% "x"',
    trailingBackslash: 'C:\\dir with space\\',
    backslashQuote: 'a\\"b\\\\"c\\',
    cmdMeta: '^%PATH%^ !x! <in >out',
    unicode: 'snow \u2603 party \u{1f389} tab\tend \u00e9\u00e8',
    dateLike: '2024-01-02T03:04:05Z',
    long: `${'L'.repeat(2100)}end`,
  };
}
