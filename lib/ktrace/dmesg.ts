/**
 * The kernel log line __sock_create prints when PF_INET + SOCK_PACKET is rewritten to
 * PF_PACKET: "<comm> uses obsolete (PF_INET,SOCK_PACKET)". It is a pr_info_once: printed
 * once per boot, by whichever process got there first. Its absence after a run that made
 * such a call therefore says "already printed earlier in this boot (and rotated out of the
 * log buffer)", not "the rewrite did not happen".
 */
import * as fs from 'fs';
import { execFileSync } from 'child_process';

export const OBSOLETE_SOCK_PACKET = 'uses obsolete (PF_INET,SOCK_PACKET)';

export interface ObsoleteSockPacketLine {
  /** The process name the kernel printed. */
  comm: string;
  /** Seconds since boot, when the log says. */
  uptime: number | null;
  line: string;
}

/**
 * Find the message in kernel log text (pure). Accepts /dev/kmsg records
 * ("6,338,340248798,-;python3 uses obsolete ...") and dmesg output ("[  340.248798] python3 uses ...").
 */
export function findObsoleteSockPacket(logText: string): ObsoleteSockPacketLine[] {
  const out: ObsoleteSockPacketLine[] = [];
  for (const line of logText.split('\n')) {
    const at = line.indexOf(OBSOLETE_SOCK_PACKET);
    if (at < 0) continue;
    let uptime: number | null = null;
    let msg = line;
    const kmsg = /^\d+,\d+,(\d+),[^;]*;(.*)$/.exec(line);
    const dm = /^\[\s*(\d+\.\d+)\]\s?(.*)$/.exec(line);
    if (kmsg) { uptime = Number(kmsg[1]) / 1e6; msg = kmsg[2]; } else if (dm) { uptime = Number(dm[1]); msg = dm[2]; }
    const comm = msg.slice(0, msg.indexOf(OBSOLETE_SOCK_PACKET)).trim();
    out.push({ comm, uptime, line });
  }
  return out;
}

/** Read every record /dev/kmsg holds now, without blocking. */
function readKmsg(): string {
  const fd = fs.openSync('/dev/kmsg', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const records: string[] = [];
  try {
    const buf = Buffer.alloc(8192);
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'EAGAIN') break;
        // The reader fell behind the ring buffer: the next read continues at the oldest record.
        if (code === 'EPIPE') continue;
        throw e;
      }
      if (n === 0) break;
      // One record per read(); continuation lines (" KEY=value") follow the message.
      records.push(buf.toString('utf8', 0, n).split('\n')[0]);
    }
  } finally {
    fs.closeSync(fd);
  }
  return records.join('\n');
}

export type LogSource = '/dev/kmsg' | 'dmesg';

/** The kernel log as text, from /dev/kmsg or else `dmesg` (argv, no shell). */
export function readKernelLog(): { text: string; source: LogSource } | { unavailable: string } {
  let kmsgError = '';
  try {
    return { text: readKmsg(), source: '/dev/kmsg' };
  } catch (e) {
    kmsgError = e instanceof Error ? e.message : String(e);
  }
  try {
    const text = execFileSync('dmesg', [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
    return { text, source: 'dmesg' };
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return { unavailable: `cannot read the kernel log: /dev/kmsg (${kmsgError}); dmesg (${why})` };
  }
}

/**
 * Whether the kernel log holds the "(PF_INET,SOCK_PACKET)" line. false means: not in the
 * log now. Because it is printed once per boot, a false after exercising the rewrite is
 * "printed before this run or rotated out", not a mismatch.
 */
export function dmesgHasObsoleteSockPacket(): boolean | { unavailable: string } {
  const log = readKernelLog();
  if ('unavailable' in log) return log;
  return findObsoleteSockPacket(log.text).length > 0;
}

/** The same, with the lines found, for reports. */
export function obsoleteSockPacketLines(): ObsoleteSockPacketLine[] | { unavailable: string } {
  const log = readKernelLog();
  if ('unavailable' in log) return log;
  return findObsoleteSockPacket(log.text);
}

/**
 * How to report the line for a run that exercised PF_INET + SOCK_PACKET, given what the log
 * held before and after the run.
 */
export function explainObsoleteSockPacket(before: ObsoleteSockPacketLine[], after: ObsoleteSockPacketLine[]): string {
  if (after.length > before.length) {
    const l = after[after.length - 1];
    return `kernel log: "${l.comm} ${OBSOLETE_SOCK_PACKET}" printed during this run`;
  }
  if (after.length > 0) {
    const l = after[0];
    return `kernel log: the line was already printed in this boot (by ${l.comm || 'a process'}${l.uptime !== null ? ` at ${l.uptime.toFixed(3)} s` : ''}); it is printed once per boot, so this run adds none`;
  }
  return 'kernel log: no "uses obsolete (PF_INET,SOCK_PACKET)" line; it is printed once per boot and may have been printed earlier and rotated out of the log buffer: not a mismatch';
}
