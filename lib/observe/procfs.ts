/**
 * The only I/O in lib/observe/: reading text files under the proc root.
 *
 * The root is "/proc" unless SOCKBRIDGE_PROC_ROOT is set or setProcRoot() was called, so
 * tests and users can point every parser at a captured fixture tree (a directory that
 * holds net/unix, net/sockstat, self/fdinfo/N, ... laid out as under /proc).
 */
import * as fs from 'fs';
import * as path from 'path';

const DEFAULT_ROOT = '/proc';
let override: string | null = null;

/** The proc root in force: setProcRoot() value, else $SOCKBRIDGE_PROC_ROOT, else "/proc". */
export function getProcRoot(): string {
  if (override !== null) return override;
  const env = process.env.SOCKBRIDGE_PROC_ROOT;
  return env !== undefined && env !== '' ? env : DEFAULT_ROOT;
}

/**
 * Point every reader at another tree; null (or no argument) goes back to the environment
 * variable or "/proc". Returns the previous override so callers can restore it.
 */
export function setProcRoot(root?: string | null): string | null {
  const previous = override;
  if (root === undefined || root === null) {
    override = null;
  } else {
    if (typeof root !== 'string' || root === '') {
      throw new TypeError(`setProcRoot: root must be a non-empty path string (got ${JSON.stringify(root)})`);
    }
    override = path.resolve(root);
  }
  return previous;
}

/** Where the root came from, for error messages. */
function rootDescription(): string {
  if (override !== null) return `the proc root set by setProcRoot() (${override})`;
  const env = process.env.SOCKBRIDGE_PROC_ROOT;
  if (env !== undefined && env !== '') return `the proc root set by SOCKBRIDGE_PROC_ROOT (${env})`;
  return '/proc (procfs mounted at /proc)';
}

/** An unreadable proc file: names the path, the errno code and what is needed. */
export class ProcReadError extends Error {
  readonly path: string;
  readonly code: string | undefined;
  constructor(file: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`cannot read ${file} (${code ?? why}): sockbridge needs ${rootDescription()} to hold this file`);
    this.name = 'ProcReadError';
    this.path = file;
    this.code = code;
  }
}

/** Absolute path of `rel` ("net/unix", "self/fdinfo/3") under the proc root. */
export function procPath(rel: string): string {
  return path.join(getProcRoot(), rel);
}

/**
 * Read a proc file as text. Throws ProcReadError naming the path when it cannot be read.
 * 'latin1' maps each byte to one character (several times faster to decode than UTF-8 for a
 * big table); a caller that uses it re-decodes the few lines it keeps.
 */
export function readProcText(rel: string, encoding: 'utf8' | 'latin1' = 'utf8'): string {
  const file = procPath(rel);
  try {
    return readWhole(file, encoding);
  } catch (e) {
    throw new ProcReadError(file, e);
  }
}

/**
 * Read a proc file that may legitimately be absent (a table the kernel was built without,
 * e.g. net/udplite after 7.1, or net/tcp6 with IPv6 disabled): null when the file does not
 * exist but its directory does. A missing root or directory is still an error.
 */
export function readProcTextIfPresent(rel: string, encoding: 'utf8' | 'latin1' = 'utf8'): string | null {
  const file = procPath(rel);
  try {
    return readWhole(file, encoding);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && fs.existsSync(path.dirname(file))) return null;
    throw new ProcReadError(file, e);
  }
}

/** One buffer for every read: a sweep reads the counters' files twice a batch. */
let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * The whole file as text: what fs.readFileSync(file, encoding) returns, read with open, read
 * until EOF into a reused buffer (grown as needed) and close - readFileSync's fstat and fresh
 * buffers cost more than reading a small proc file.
 */
function readWhole(file: string, encoding: 'utf8' | 'latin1'): string {
  const fd = fs.openSync(file, 'r');
  try {
    let used = 0;
    for (;;) {
      if (used === scratch.length) {
        const bigger = Buffer.allocUnsafe(scratch.length * 2);
        scratch.copy(bigger, 0, 0, used);
        scratch = bigger;
      }
      const n = fs.readSync(fd, scratch, used, scratch.length - used, null);
      if (n === 0) break;
      used += n;
    }
    return scratch.toString(encoding, 0, used);
  } finally {
    fs.closeSync(fd);
  }
}
