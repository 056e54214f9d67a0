import { readFile, writeFile } from 'node:fs/promises';

/**
 * Shift the KDC time offset stored in a FILE ccache header (format version 4, tag 1), as if the controller's clock
 * were `seconds` off: with kdc_timesync the library adds it to "now" in every authenticator it makes.
 */
export async function skewCcache(ccachePath: string, seconds: number): Promise<void> {
  const buf = await readFile(ccachePath);
  if (buf.readUInt16BE(0) !== 0x0504 || buf.readUInt16BE(4) !== 1 || buf.readUInt16BE(6) !== 8) {
    throw new Error(`${ccachePath}: not a v4 ccache with a time-offset header`);
  }
  buf.writeInt32BE(seconds, 8);
  buf.writeInt32BE(0, 12);
  await writeFile(ccachePath, buf);
}
