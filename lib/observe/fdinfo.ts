/**
 * /proc/<pid>/fdinfo/<fd> (fs/proc/fd.c seq_show):
 *   pos:\t0
 *   flags:\t02000002        (octal: f_flags, plus O_CLOEXEC when the fd's close-on-exec bit is set)
 *   mnt_id:\t10
 *   ino:\t11686
 * then lines the file type adds (AF_UNIX: "scm_fds: 0"; eventfd, epoll, inotify, ...), kept
 * in `extra` by the text before their first ':' (a repeated key keeps every value, joined by "\n").
 */
import { ProcParseError, lines } from './text';

export interface Fdinfo {
  pos: number;
  /** Octal in the file, a number here. */
  flags: number;
  mntId: number;
  /** -1 when the kernel does not print an ino: line (older kernels). */
  ino: number;
  extra: Record<string, string>;
}

export function parseFdinfo(text: string, file = '/proc/self/fdinfo'): Fdinfo {
  let pos: number | undefined;
  let flags: number | undefined;
  let mntId: number | undefined;
  let ino = -1;
  const extra: Record<string, string> = {};
  const ls = lines(text);
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i];
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ProcParseError(file, i + 1, 'expected "key: value"', line);
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    const num = (re: RegExp, base: number): number => {
      if (!re.test(value)) throw new ProcParseError(file, i + 1, `${key} should be a base-${base} number (got ${JSON.stringify(value)})`, line);
      return parseInt(value, base);
    };
    switch (key) {
      case 'pos': pos = num(/^\d+$/, 10); break;
      case 'flags': flags = num(/^[0-7]+$/, 8); break;
      case 'mnt_id': mntId = num(/^\d+$/, 10); break;
      case 'ino': ino = num(/^\d+$/, 10); break;
      default: extra[key] = key in extra ? `${extra[key]}\n${value}` : value;
    }
  }
  const missing = [pos === undefined ? 'pos' : '', flags === undefined ? 'flags' : '', mntId === undefined ? 'mnt_id' : ''].filter((x) => x);
  if (missing.length > 0 || pos === undefined || flags === undefined || mntId === undefined) {
    throw new ProcParseError(file, ls.length, `missing ${missing.join(', ')} (truncated fdinfo?)`, text);
  }
  return { pos, flags, mntId, ino, extra };
}
