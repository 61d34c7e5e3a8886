/**
 * The process's fd table as a host fact: which fds are open right now.
 *
 * Reading /proc/self/fd opens a directory fd, which shows up in its own listing and is closed
 * again by the time the listing is returned: that one entry is dropped (the addon knows its
 * number; under another proc root, by checking which listed fd is no longer open).
 */
import * as fs from 'fs';
import * as path from 'path';
import { native } from '../native';
import { systemError } from '../probe';

export function listOpenFds(procRoot = '/proc'): number[] {
  if (procRoot === '/proc') {
    // The addon reads the same directory with getdents64 and knows its own fd: no fstat per
    // entry (a sweep reads the table before every batch).
    const r = native().openFds();
    if (r instanceof Int32Array) return Array.from(r);
    throw systemError(r.errno, 'open');
  }
  const names = fs.readdirSync(path.join(procRoot, 'self', 'fd'));
  const fds: number[] = [];
  for (const n of names) {
    const fd = Number(n);
    if (!Number.isInteger(fd)) continue;
    try {
      fs.fstatSync(fd);
      fds.push(fd);
    } catch {
      // The directory stream's own fd, closed once readdir returned.
    }
  }
  return fds.sort((a, b) => a - b);
}
