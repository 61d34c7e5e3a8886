/**
 * Counters that move when a socket is created: the "sockets" column of /proc/net/protocols
 * (sock_prot_inuse_add) and "sockets: used" in /proc/net/sockstat (sk_alloc of a user socket).
 * Both are per network namespace, so they are exact only where no other process can create
 * sockets at the same time: a private netns.
 */
import { readProtocols, readSockstat } from '../observe';
import { parseProtocols } from '../observe/protocols';
import { parseSockstat } from '../observe/sockstat';
import { ProcReadError } from '../observe/procfs';
import { systemError } from '../probe';
import type { NativeCounterTexts } from '../native';

export interface Counters {
  /** /proc/net/protocols name -> sockets. */
  protocols: Record<string, number>;
  /** /proc/net/sockstat "sockets: used". */
  sockstatUsed: number;
}

export function readCounters(): Counters {
  const protocols: Record<string, number> = {};
  for (const r of readProtocols()) protocols[r.name] = r.sockets;
  return { protocols, sockstatUsed: readSockstat().sockets?.used ?? 0 };
}

/** readCounters from the two files' text as the addon read them under `root` (a pipeline batch). */
export function countersFromTexts(t: NativeCounterTexts, root: string): Counters {
  if (t.errno !== undefined) throw new ProcReadError(t.path, systemError(t.errno, 'open'));
  const protocols: Record<string, number> = {};
  for (const r of parseProtocols(t.protocols, `${root}/net/protocols`)) protocols[r.name] = r.sockets;
  return { protocols, sockstatUsed: parseSockstat(t.sockstat, `${root}/net/sockstat`).sockets?.used ?? 0 };
}

/** "sockets: used" alone (the sweep polls it while a batch's closed sockets are freed). */
export function readSockstatUsed(): number {
  return readSockstat().sockets?.used ?? 0;
}

/** after - before, keeping only what moved. */
export function diffCounters(before: Counters, after: Counters): Counters {
  if (before === after) return { protocols: {}, sockstatUsed: 0 };
  const protocols: Record<string, number> = {};
  for (const k of new Set([...Object.keys(before.protocols), ...Object.keys(after.protocols)])) {
    const d = (after.protocols[k] ?? 0) - (before.protocols[k] ?? 0);
    if (d !== 0) protocols[k] = d;
  }
  return { protocols, sockstatUsed: after.sockstatUsed - before.sockstatUsed };
}
