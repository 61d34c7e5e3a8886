/**
 * Line a prediction up with the kernel's observation, field by field.
 *
 * Pure: no I/O. The sweep calls this tens of thousands of times, so the common path (both
 * roads say the same errno) does no allocation beyond the verdict itself.
 */
import type { FieldDiff, HostProfile, Observation, Prediction, SocketResult, Verdict, VerdictKind } from '../types';
import { O_CLOEXEC, O_NONBLOCK } from '../abi/constants';
import { errnoName } from '../abi/names';
import { compareRelease, parseRelease } from '../kernel/release';
import { type Abi, abiForMachine } from '../abi/arch';

const FD_CLOEXEC = 1;
/** sock_alloc(): inode->i_mode = S_IFSOCK | S_IRWXUGO. */
export const SOCK_INODE_MODE = 0o140777;

/** Fields compared when both roads agree the call failed. */
export const ERRNO_FIELDS = ['result'];
/** Fields compared for a new socket. */
export const SOCKET_FIELDS = [
  'result', 'fd', 'cloexec', 'nonblock', 'fdinfo.flags', 'SO_DOMAIN', 'SO_TYPE', 'SO_PROTOCOL',
  'link', 'inode.mode', 'inode.uid', 'inode.gid', 'sockprotoname', 'procnet',
];

/** What the bridge knows about the host beyond the prediction: for EXPLAINED and inode owners. */
export interface AlignEnv {
  /** sock_alloc() gives the inode the caller's fsuid/fsgid. Unknown -> not compared. */
  fsuid: number | null;
  fsgid: number | null;
  /** A reason the model cannot see everything (active seccomp filter, LSM with socket hooks), or null. */
  policy: string | null;
  /**
   * Whether /proc/PID/fdinfo/N has an "ino:" line: since 5.14 (fs/proc/fd.c seq_show, commit
   * "procfs/dmabuf: add inode number to /proc/*\/fdinfo"); measured absent on Debian's 5.10, present
   * on 6.1 and 6.12. null when the release is unknown (either is accepted). Optional: true if absent.
   */
  fdinfoIno?: boolean | null;
  /**
   * The caller's ABI: observations (errno, F_GETFL, fdinfo flags, SO_TYPE) are in its numbers,
   * as the model's predictions are. Absent: x86_64 (the generic numbers).
   */
  abi?: Abi;
}

export function alignEnvFromProfile(p: HostProfile): AlignEnv {
  const reasons: string[] = [];
  // Seccomp filters are not a policy the model cannot see: it runs them (lib/kernel/kernel/
  // seccomp.ts), and when their programs cannot be read each prediction says so itself
  // (Prediction.unknownFilters -> UNSUPPORTED).
  const lsms = (p.security.lsms.value ?? []).filter((l) => POLICY_LSMS.has(l));
  if (lsms.length) reasons.push(`LSMs with socket_create hooks are active (${lsms.join(', ')})`);
  const rel = p.kernel.release.value === null ? null : parseRelease(p.kernel.release.value);
  return {
    fsuid: p.creds.fsuid.value,
    fsgid: p.creds.fsgid.value,
    policy: reasons.length ? reasons.join('; ') : null,
    fdinfoIno: rel === null ? null : compareRelease(rel, '5.14') >= 0,
    abi: abiOrGeneric(p.kernel.machine.value),
  };
}

function abiOrGeneric(machine: string | null): Abi | undefined {
  try {
    return abiForMachine(machine);
  } catch {
    return undefined;
  }
}

/**
 * LSMs that can refuse socket creation. Only those with a loaded policy can, but the model cannot
 * see their policies, so a divergence on a host that runs them is EXPLAINED, never a silent match.
 */
const POLICY_LSMS = new Set(['selinux', 'apparmor', 'smack', 'tomoyo', 'bpf', 'landlock']);

export function sameResult(a: SocketResult, obs: Observation): boolean {
  if (a.signal !== undefined || obs.signal !== undefined) {
    return a.signal !== undefined && obs.signal !== undefined && a.signal === obs.signal.signal && a.fatal === obs.signal.fatal;
  }
  if (a.errno !== undefined) return a.errno === obs.errno;
  return obs.errno === 0 && a.fd === obs.fd;
}

const SIGNAL_NAMES: Record<number, string> = { 9: 'SIGKILL', 31: 'SIGSYS' };
function signalLabel(signal: number, fatal: boolean): string {
  const name = SIGNAL_NAMES[signal] ?? `signal ${signal}`;
  return fatal ? `killed by ${name}` : `${name} (call skipped)`;
}

export function resultLabel(r: SocketResult | Observation, abi?: Abi): string {
  if ('case' in r) {
    if (r.signal) return signalLabel(r.signal.signal, r.signal.fatal);
    if (r.notRun) return `${r.fd} (no call made)`;
    return r.errno === 0 ? `fd ${r.fd}` : errnoName(r.errno, abi);
  }
  if (r.signal !== undefined) return signalLabel(r.signal, r.fatal);
  return r.errno !== undefined ? errnoName(r.errno, abi) : `fd ${r.fd}`;
}

export function alignCase(pred: Prediction, obs: Observation, env: AlignEnv): Verdict {
  const diffs: FieldDiff[] = [];
  const p = pred.result;
  let fields = ERRNO_FIELDS;

  // A new socket on each road: not a signal, not the 0 that seccomp's ERRNO(0) returns.
  const predictedOk = p.errno === undefined && p.signal === undefined && pred.facts !== undefined;
  const observedOk = obs.errno === 0 && obs.signal === undefined && !obs.notRun;
  if (p.signal !== undefined || obs.signal !== undefined || pred.seccomp?.ran === false || obs.notRun) {
    if (!sameResult(p, obs) || (p.fd !== undefined && !obs.notRun) || (obs.notRun && pred.facts !== undefined)) {
      diffs.push({ field: 'result', predicted: resultLabel(p, env.abi), observed: resultLabel(obs, env.abi) });
    }
  } else if (!predictedOk || !observedOk) {
    if (predictedOk !== observedOk || p.errno !== obs.errno) {
      diffs.push({ field: 'result', predicted: resultLabel(p, env.abi), observed: resultLabel(obs, env.abi) });
    }
  } else {
    fields = SOCKET_FIELDS;
    const f = pred.facts;
    if (!f) {
      diffs.push({ field: 'facts', predicted: 'no facts predicted for a new socket', observed: resultLabel(obs, env.abi) });
    } else {
      const d = (field: string, predicted: unknown, observed: unknown) => {
        if (predicted !== observed) diffs.push({ field, predicted, observed });
      };
      d('fd', f.fd, obs.fd);
      d('cloexec', f.cloexec, obs.fdFlags === undefined ? undefined : (obs.fdFlags & FD_CLOEXEC) !== 0);
      const oNonblock = env.abi ? env.abi.O_NONBLOCK : O_NONBLOCK;
      d('nonblock', f.nonblock, obs.flFlags === undefined ? undefined : (obs.flFlags & oNonblock) !== 0);
      d('fdinfo.flags', octal(f.fdinfoFlags), obs.fdinfo ? octal(obs.fdinfo.flags) : undefined);
      d('SO_DOMAIN', f.soDomain, obs.soDomain);
      d('SO_TYPE', f.soType, obs.soType);
      d('SO_PROTOCOL', f.soProtocol, obs.soProtocol);
      // The inode number is the kernel's to choose (get_next_ino, per-CPU batches): the model
      // predicts the link's shape and that the three views of the inode agree.
      const linkIno = obs.link ? /^socket:\[(\d+)\]$/.exec(obs.link) : null;
      const ino = linkIno ? Number(linkIno[1]) : NaN;
      const fdinfoIno = env.fdinfoIno === undefined ? true : env.fdinfoIno;
      // Before 5.14 fdinfo has no ino: line (the addon reports -1 for a missing line).
      const fdinfoOk = fdinfoIno === true ? obs.fdinfo?.ino === ino
        : fdinfoIno === false ? obs.fdinfo !== undefined && obs.fdinfo.ino < 0
        : obs.fdinfo?.ino === ino || (obs.fdinfo !== undefined && obs.fdinfo.ino < 0);
      const consistent = linkIno !== null && obs.stat?.ino === ino && fdinfoOk;
      if (!consistent) {
        diffs.push({
          field: 'link',
          predicted: fdinfoIno === false ? 'socket:[<ino>] with fstat showing the same inode, and no ino: line in fdinfo (before 5.14)'
            : 'socket:[<ino>] with fstat and fdinfo showing the same inode',
          observed: `${obs.link ?? '(none)'} (fstat ino ${obs.stat?.ino ?? '?'}, fdinfo ino ${obs.fdinfo?.ino ?? '?'})`,
        });
      }
      d('inode.mode', octal(SOCK_INODE_MODE), obs.stat ? octal(obs.stat.mode) : undefined);
      if (env.fsuid !== null) d('inode.uid', env.fsuid, obs.stat?.uid);
      if (env.fsgid !== null) d('inode.gid', env.fsgid, obs.stat?.gid);
      d('sockprotoname', f.protoName, obs.protoName);
      d('procnet', f.procNet, obs.procNet === undefined ? undefined : obs.procNet?.table ?? null);
    }
  }

  let kind: VerdictKind = diffs.length === 0 ? 'MATCH' : 'MISMATCH';
  let reason: string | undefined;
  if (pred.unknownFilters !== undefined && (diffs.length === 0 || diffs.every((x) => x.field === 'result'))
    && (obs.signal !== undefined || obs.errno !== 0 || obs.notRun || diffs.length === 0)) {
    // Filters the model cannot run could have given any errno, 0, or SIGSYS - or let the call
    // through to the path the model predicted. Never claimed as a match.
    kind = 'UNSUPPORTED';
    reason = `${pred.unknownFilters}: the kernel's answer is one of every result they allow`;
  } else if (kind === 'MISMATCH' && pred.possible && pred.possible.some((r) => sameResult(r, obs)) && diffs.every((x) => x.field === 'result')) {
    kind = 'UNSUPPORTED';
    reason = `the host profile lacks ${(pred.missing ?? []).join(', ') || 'a fact'}; the kernel's answer is one of the model's possible results`;
  } else if (kind === 'MISMATCH' && env.policy) {
    kind = 'EXPLAINED';
    reason = `${env.policy}: the model cannot see into that policy`;
  }
  return { case: pred.case, kind, fields, diffs, reason, prediction: pred, observation: obs };
}

function octal(n: number): string {
  return '0' + n.toString(8);
}

/** fdinfo "flags:" as the kernel prints it: f_flags, plus O_CLOEXEC when the fd is close-on-exec. */
export function fdinfoFlagsFor(nonblock: boolean, cloexec: boolean): number {
  return 0o2 | (nonblock ? O_NONBLOCK : 0) | (cloexec ? O_CLOEXEC : 0);
}
