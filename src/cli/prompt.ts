/** The terminal password prompt: reads a line from stdin with nothing echoed, the label on stderr. */
import { createInterface } from 'node:readline';

export async function ttyPrompt(label: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // Echo nothing while the password is typed.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
  process.stderr.write(`${label}: `);
  try {
    return await new Promise<string>((res) => rl.question('', res));
  } finally {
    process.stderr.write('\n');
    rl.close();
  }
}
