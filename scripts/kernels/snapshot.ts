/**
 * A foreign guest's host profile, made here from the files its kernel shows (guest-arch.ts says why).
 *
 * 1. pathsToCopy(): run lib/host's gatherer on this host through a recording HostIO with no
 *    syscall source, and keep every (operation, path) it asked for, with this kernel's release
 *    written as @REL@. That list is exactly what the gatherer reads.
 * 2. In the guest, snapshot.sh (SNAPSHOT_SH) runs as the user the probe runs as, right before it,
 *    and writes each path: a file's bytes (base64), a folder's names, a link's target, an inode.
 * 3. profileFromSnapshot(): the same gatherer on that record (a HostIO that answers from it, no
 *    syscall source: uname, ids, caps and RLIMIT_NOFILE come from the guest's /proc files).
 */
import { gatherHostProfile, type HostIO } from '../../lib/host/gather';
import type { HostProfile } from '../../lib/types';

type Op = 'f' | 'd' | 'l' | 'i' | 't';

/**
 * Read by the gatherer on a guest but not on this host (which answered earlier): the config
 * from /boot when there is no /proc/config.gz, and /proc/1's namespaces, which tell the initial
 * network namespace before 6.18 numbered it.
 */
const ALWAYS: Array<[Op, string]> = [
  ['f', '/boot/config-@REL@'], ['i', '/proc/1/ns/pid'], ['i', '/proc/1/ns/net'], ['f', '/proc/self/uid_map'],
];

/** The (operation, path) pairs the gatherer reads, with the release as @REL@. */
export function pathsToCopy(): Array<[Op, string]> {
  const seen = new Map<string, Op>();
  let rel = '';
  const note = (op: Op, p: string): void => {
    const key = `${op} ${p}`;
    if (!seen.has(key)) seen.set(key, op);
  };
  const fail = (p: string): never => {
    const e = new Error(`recording: ${p}`) as NodeJS.ErrnoException;
    e.code = 'ENOENT';
    throw e;
  };
  const io: HostIO = {
    readText: (p) => {
      note('f', p);
      if (p === '/proc/sys/kernel/osrelease') return (rel = require('fs').readFileSync(p, 'utf8').trim()) + '\n';
      try { return require('fs').readFileSync(p, 'utf8') as string; } catch { return fail(p); }
    },
    readBytes: (p) => { note('f', p); try { return require('fs').readFileSync(p) as Buffer; } catch { return fail(p); } },
    readdir: (p) => { note('d', p); try { return require('fs').readdirSync(p) as string[]; } catch { return fail(p); } },
    readlink: (p) => { note('l', p); try { return require('fs').readlinkSync(p) as string; } catch { return fail(p); } },
    statIno: (p) => { note('i', p); try { return require('fs').statSync(p).ino as number; } catch { return fail(p); } },
  };
  gatherHostProfile({ io, sys: null, takenOn: 'recording' });
  const out: Array<[Op, string]> = [];
  for (const [key, op] of seen) {
    let p = key.slice(2);
    if (rel) p = p.split(rel).join('@REL@');
    // The fd table is one operation (t): the listing and its links from one process's view.
    if (p.startsWith('/proc/self/fd/')) continue;
    out.push(p === '/proc/self/fd' ? ['t', p] : [op, p]);
  }
  for (const [op, p] of ALWAYS) if (!out.some(([, q]) => q === p)) out.push([op, p]);
  return out;
}

/**
 * The guest side: reads "OP PATH" lines on stdin, writes the record on stdout. Busybox sh only.
 *   @F path / base64 lines / @E      a file's bytes      @N op path   could not be read
 *   @D path / names / @E             a folder            @L path target   a link
 *   @I path inode                    (t: /proc/self/fd as a listing plus links of 0, 1, 2)
 */
export const SNAPSHOT_SH = `#!/bin/sh
REL=$(uname -r)
while read -r op p; do
  p=$(echo "$p" | sed "s/@REL@/$REL/g")
  case "$op" in
    f) if [ -r "$p" ] && cat "$p" > /tmp/snap.$$ 2>/dev/null; then echo "@F $p"; base64 < /tmp/snap.$$; echo "@E"; else echo "@N f $p"; fi ;;
    d) if [ -d "$p" ]; then echo "@D $p"; ls -1a "$p" | grep -v '^\\.\\.\\?$'; echo "@E"; else echo "@N d $p"; fi ;;
    l) t=$(readlink "$p") && echo "@L $p $t" || echo "@N l $p" ;;
    i) n=$(stat -L -c %i "$p" 2>/dev/null) && echo "@I $p $n" || echo "@N i $p" ;;
    t) ls -1 /proc/self/fd > /tmp/fds.$$; echo "@D $p"; cat /tmp/fds.$$; echo "@E"
       # ls's own directory fd is gone by now: only the standard three are links the probe inherits.
       for n in 0 1 2; do grep -qx "$n" /tmp/fds.$$ && echo "@L $p/$n inherited"; done; rm -f /tmp/fds.$$ ;;
  esac
done
rm -f /tmp/snap.$$
`;

export interface Snapshot {
  files: Map<string, Buffer>;
  dirs: Map<string, string[]>;
  links: Map<string, string>;
  inodes: Map<string, number>;
}

export function parseSnapshot(text: string): Snapshot {
  const s: Snapshot = { files: new Map(), dirs: new Map(), links: new Map(), inodes: new Map() };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.startsWith('@F ') || l.startsWith('@D ')) {
      const p = l.slice(3);
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== '@E'; i++) body.push(lines[i]);
      if (l[1] === 'F') s.files.set(p, Buffer.from(body.join(''), 'base64'));
      else s.dirs.set(p, body.filter(Boolean));
    } else if (l.startsWith('@L ')) {
      const m = /^@L (\S+) (.*)$/.exec(l);
      if (m) s.links.set(m[1], m[2]);
    } else if (l.startsWith('@I ')) {
      const m = /^@I (\S+) (\d+)$/.exec(l);
      if (m) s.inodes.set(m[1], Number(m[2]));
    }
  }
  return s;
}

function enoent(p: string): never {
  const e = new Error(`ENOENT: not in the guest's snapshot: ${p}`) as NodeJS.ErrnoException;
  e.code = 'ENOENT';
  e.path = p;
  throw e;
}

/** A HostIO that answers from a guest's snapshot. */
export function snapshotIO(s: Snapshot): HostIO {
  return {
    readText: (p) => (s.files.get(p) ?? enoent(p)).toString('utf8'),
    readBytes: (p) => s.files.get(p) ?? enoent(p),
    readdir: (p) => s.dirs.get(p) ?? enoent(p),
    readlink: (p) => s.links.get(p) ?? enoent(p),
    statIno: (p) => s.inodes.get(p) ?? enoent(p),
  };
}

export function profileFromSnapshot(text: string, where: string): HostProfile {
  return gatherHostProfile({ io: snapshotIO(parseSnapshot(text)), sys: null, takenOn: `${where}: the guest's files, read by lib/host's gatherer on the host` });
}
