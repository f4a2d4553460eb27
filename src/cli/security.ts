/**
 * Reading the files behind --cluster-secret-file and the TLS flags, with
 * messages that say which flag and what to do. Everything is read once at
 * start: a node never serves with half of its security settings.
 */
import fs from 'node:fs';
import { MIN_SECRET_BYTES } from '../transport/peer-auth.js';
import { OptionError } from './options.js';

/**
 * The cluster secret: the file's contents without surrounding whitespace
 * (a trailing newline from an editor or `echo` is not part of it).
 * `warn` hears about a file others can read.
 */
export function readClusterSecret(file: string, warn: (line: string) => void): Buffer {
  let raw: Buffer;
  let mode: number;
  try {
    raw = fs.readFileSync(file);
    mode = fs.statSync(file).mode;
  } catch (e) {
    throw new OptionError(`--cluster-secret-file: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const secret = Buffer.from(raw.toString('latin1').trim(), 'latin1');
  if (secret.length < MIN_SECRET_BYTES) {
    throw new OptionError(
      `--cluster-secret-file: ${file} holds ${secret.length} bytes after trimming whitespace; the cluster secret must be at least ${MIN_SECRET_BYTES} (e.g. openssl rand -hex 32 > ${file})`,
    );
  }
  if ((mode & 0o077) !== 0) {
    warn(`--cluster-secret-file ${file} is readable by its group or by others (mode ${(mode & 0o777).toString(8)}): anyone who reads it can join the cluster; chmod 600 it`);
  }
  return secret;
}

export function readPemFile(file: string, flag: string): Buffer {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (e) {
    throw new OptionError(`${flag}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!data.includes('-----BEGIN ')) throw new OptionError(`${flag}: ${file} is not a PEM file (no -----BEGIN line)`);
  return data;
}
