import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** SHA-256 (hex) and size of a file, read as a stream (checkpoints can be large). */
export async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    const b = chunk as Buffer;
    hash.update(b);
    bytes += b.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
