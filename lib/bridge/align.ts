/**
 * Line a prediction up with the kernel's observation, field by field.
 *
 * Pure: no I/O. The sweep calls this tens of thousands of times, so the common path (both
 * roads say the same errno) does no allocation beyond the verdict itself.
 */
import type { FieldDiff, HostProfile, Observation, PolicyEvidence, Prediction, SocketCase, SocketResult, Verdict, VerdictKind } from '../types';
import { plainPrediction } from '../kernel';
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

/**
 * A policy that could refuse socket() for this process, by name, and where in the call it acts:
 * 'entry' (before every check of __sys_socket; seccomp acts there, but the model runs its filters,
 * so no candidate comes from it), 'socket_create' (security_socket_create,
 * after the family and type range checks of __sock_create) or 'socket_post_create' (after the
 * family's create succeeded).
 */
export interface PolicyCandidate extends PolicyEvidence {
  hooks: Array<'entry' | 'socket_create' | 'socket_post_create'>;
  /** Only these families (as the hook sees them: after the PF_INET/SOCK_PACKET rewrite). */
  families?: number[];
}

/** What the bridge knows about the host beyond the prediction: for EXPLAINED and inode owners. */
export interface AlignEnv {
  /**
   * sock_alloc() gives the inode the caller's fsuid/fsgid. Unknown -> not compared. In a user
   * namespace without a mapping for them these are the overflow ids the kernel shows: fstat shows
   * the inode's owner through the same namespace, so the two views still compare exactly.
   */
  fsuid: number | null;
  fsgid: number | null;
  /** Named policies that could refuse socket() for this process; only these make a verdict EXPLAINED. */
  policies: PolicyCandidate[];
  /** Why no other policy could (LSMs looked at and found unable to refuse, or not readable), for MISMATCH reasons. */
  checked: string | null;
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

const LSM_POLICY: Record<string, PolicyEvidence['policy']> = {
  apparmor: 'apparmor', selinux: 'selinux', bpf: 'bpf-lsm', landlock: 'landlock', smack: 'smack', tomoyo: 'tomoyo',
};

export function alignEnvFromProfile(p: HostProfile): AlignEnv {
  const policies: PolicyCandidate[] = [];
  const checked: string[] = [];
  // Seccomp filters are not a policy the model cannot see: it runs them (lib/kernel/kernel/
  // seccomp.ts, each rule in the trace), and when their programs cannot be read each prediction
  // says so itself (Prediction.unknownFilters -> UNSUPPORTED). So seccomp never EXPLAINS a case.
  const ev = p.security.lsmEvidence;
  if (!ev) {
    const lsms = (p.security.lsms.value ?? []).filter((l) => l in LSM_POLICY);
    if (lsms.length) checked.push(`the host profile has no LSM evidence (taken by an older sockbridge), so ${lsms.join(', ')} explain nothing`);
  } else if (ev.value === null) {
    checked.push(`LSM evidence unknown: ${ev.error ?? 'no reason given'}`);
  } else {
    for (const e of ev.value) {
      if (e.canRefuse === true) {
        for (const pol of e.policies) {
          policies.push({ policy: LSM_POLICY[e.lsm] ?? 'bpf-lsm', name: pol.name, detail: pol.detail, source: e.source, hooks: pol.hooks, families: pol.families });
        }
      } else {
        checked.push(`${e.lsm}: ${e.canRefuse === false ? 'cannot refuse' : 'not known'} (${e.why})`);
      }
    }
  }
  const rel = p.kernel.release.value === null ? null : parseRelease(p.kernel.release.value);
  return {
    fsuid: p.creds.fsuid.value ?? p.creds.fsuid.hidden?.shown ?? null,
    fsgid: p.creds.fsgid.value ?? p.creds.fsgid.hidden?.shown ?? null,
    policies,
    checked: checked.length ? checked.join('; ') : null,
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
 * The policies that could have decided this very case: the kernel refused a call (a policy can
 * only make socket() fail), the model's path reaches the policy's hook (a call refused by the
 * family range check never meets security_socket_create), and the family is one it acts on.
 */
export function policiesFor(pred: Prediction, obs: Observation, env: AlignEnv): PolicyCandidate[] {
  if (obs.errno === 0 || obs.signal !== undefined || env.policies.length === 0) return [];
  const reached = new Set<string>(['entry']);
  let family = pred.case.domain;
  for (const st of pred.trace) {
    if (st.fn === 'security_socket_create') reached.add('socket_create');
    else if (st.fn === 'security_socket_post_create') reached.add('socket_post_create');
    else if (st.outcome === 'rewrite' && st.fn === '__sock_create') family = 17; // PF_INET/SOCK_PACKET -> PF_PACKET
  }
  return env.policies.filter((c) => c.hooks.some((h) => reached.has(h)) && (!c.families || c.families.includes(family)));
}

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
  let evidence: PolicyEvidence[] | undefined;
  const onlyResult = diffs.every((x) => x.field === 'result');
  if (pred.unknownFilters !== undefined && (diffs.length === 0 || onlyResult)
    && (obs.signal !== undefined || obs.errno !== 0 || obs.notRun || diffs.length === 0)) {
    // Filters the model cannot run could have given any errno, 0, or SIGSYS - or let the call
    // through to the path the model predicted. Never claimed as a match.
    kind = 'UNSUPPORTED';
    reason = `${pred.unknownFilters}: the kernel's answer is one of every result they allow`;
  } else if (kind === 'MISMATCH' && pred.possible && pred.possible.some((r) => sameResult(r, obs)) && onlyResult) {
    kind = 'UNSUPPORTED';
    reason = `the host profile lacks ${(pred.missing ?? []).join(', ') || 'a fact'}; the kernel's answer is one of the model's possible results (${pred.possible.map((r) => resultLabel(r, env.abi)).join(', ')})`;
  } else if (kind === 'MISMATCH') {
    const cands = onlyResult ? policiesFor(pred, obs, env) : [];
    if (cands.length) {
      kind = 'EXPLAINED';
      evidence = cands.map(({ policy, name, detail, source }) => ({ policy, name, detail, source }));
      reason = `${cands.map((c) => c.name).join('; ')} could have refused this call; the model cannot see into ${cands.length === 1 ? 'that policy' : 'those policies'}`;
    } else if (env.checked) {
      reason = `no policy found that could have decided this call (${env.checked})`;
    }
  }
  const v: Verdict = { case: pred.case, kind, fields, diffs, reason, prediction: pred, observation: obs };
  if (evidence) v.evidence = evidence;
  return v;
}

/**
 * What alignCase returns for a plain case (see KernelModel.predictLean): the model's plainPrediction
 * and the kernel's failed call with the same errno - a MATCH on the result alone. A sweep that
 * reports such cases through onPlainMatch builds it only when something asks for the object.
 */
export function plainMatch(c: SocketCase, errno: number): Verdict {
  const pred = plainPrediction(c, errno);
  const obs: Observation = { case: { domain: c.domain, type: c.type, protocol: c.protocol }, errno, fd: -1 };
  return { case: pred.case, kind: 'MATCH', fields: ERRNO_FIELDS, diffs: [], reason: undefined, prediction: pred, observation: obs };
}

function octal(n: number): string {
  return '0' + n.toString(8);
}

/** fdinfo "flags:" as the kernel prints it: f_flags, plus O_CLOEXEC when the fd is close-on-exec. */
export function fdinfoFlagsFor(nonblock: boolean, cloexec: boolean): number {
  return 0o2 | (nonblock ? O_NONBLOCK : 0) | (cloexec ? O_CLOEXEC : 0);
}
