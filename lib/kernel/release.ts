/**
 * Kernel releases, and the limits of the socket ABI that moved between them.
 *
 * Every rule here is keyed on a release because Linux changed it at that release; the
 * values come from the kernel headers of the time (include/linux/socket.h AF_MAX,
 * include/uapi/linux/in.h IPPROTO_MAX), never from what a socket() call returned.
 */

/** "6.18.44-fc-v595" -> [6, 18, 44]; null when the text does not start with a version. */
export function parseRelease(release: string): [number, number, number] | null {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) return null;
  return [Number(m[1]), Number(m[2]), m[3] === undefined ? 0 : Number(m[3])];
}

/** Compare a parsed release with "X.Y" or "X.Y.Z": <0, 0, >0. */
export function compareRelease(rel: readonly [number, number, number], version: string): number {
  const v = parseRelease(version);
  if (!v) throw new RangeError(`bad kernel version "${version}": expected "X.Y" or "X.Y.Z"`);
  for (let i = 0; i < 3; i++) {
    if (rel[i] !== v[i]) return rel[i] - v[i];
  }
  return 0;
}

/**
 * AF_MAX (= NPROTO) of a release: one past the last address family that release defines.
 * AF_VSOCK=40 came in 3.9, AF_KCM=41 in 4.6, AF_QIPCRTR=42 in 4.7, AF_SMC=43 in 4.11,
 * AF_XDP=44 in 4.18, AF_MCTP=45 in 5.15 (include/linux/socket.h at each release).
 */
export function afMax(rel: readonly [number, number, number]): number {
  if (compareRelease(rel, '5.15') >= 0) return 46;
  if (compareRelease(rel, '4.18') >= 0) return 45;
  if (compareRelease(rel, '4.11') >= 0) return 44;
  if (compareRelease(rel, '4.7') >= 0) return 43;
  if (compareRelease(rel, '4.6') >= 0) return 42;
  if (compareRelease(rel, '3.9') >= 0) return 41;
  return 40;
}

/**
 * IPPROTO_MAX of a release: 263 since 5.6 (IPPROTO_MPTCP = 262 joined the enum), 256 before
 * (the implicit end after IPPROTO_RAW = 255).
 */
export function ipprotoMax(rel: readonly [number, number, number]): number {
  return compareRelease(rel, '5.6') >= 0 ? 263 : 256;
}
