/**
 * LSM evidence: per active LSM with a hook on socket(), whether a policy could refuse socket
 * creation for this process, and how that is known. A verdict is EXPLAINED only by a policy named
 * here (lib/bridge/align.ts); an LSM that is merely enabled explains nothing.
 *
 * Everything is read without changing the process or the kernel: attr files, selinuxfs, the
 * Landlock ABI as landlock_create_ruleset answers it (the rulesets made to ask are closed at once,
 * never applied), and the BPF objects the kernel lists by id.
 */
import type { Fact, LsmEvidence, PolicyOnPath } from '../types';
import type { HostIO } from './gather';
import { vmlinuxBtf } from './btf';

/** The addon calls this file uses (lib/native.ts). */
export interface LsmSyscalls {
  landlockProbe(): { errno: number; abi?: number; errata?: number; fsMask?: number; netMask?: number; scopedMask?: number; beyondErrno?: number };
  bpfObjects(): { errno: number; progs?: BpfProgInfo[]; links?: BpfLinkInfo[] };
  bpfCgroupQuery(path: string, attachType: number): { errno: number; ids?: number[]; count?: number };
}
export interface BpfProgInfo { id: number; type: number; name: string; attachBtfObjId: number; attachBtfId: number }
export interface BpfLinkInfo { id: number; type: number; progId: number; attachType?: number; targetBtfId?: number; cgroupId?: number }

/** include/uapi/linux/bpf.h */
const BPF_PROG_TYPE_LSM = 29;
const BPF_PROG_TYPE_CGROUP_SOCK = 9;
const BPF_CGROUP_INET_SOCK_CREATE = 2;
const BPF_LINK_TYPE_TRACING = 2;
const BPF_LSM_MAC = 27;
const BPF_LSM_CGROUP = 43;
const E2BIG = 7;
const EPERM = 1;
const ENOSYS = 38;
const EOPNOTSUPP = 95;

/** The socket() hooks a BPF LSM program can sit on, by the BTF name of their attach point. */
const BPF_LSM_SOCKET_HOOKS: Record<string, 'socket_create' | 'socket_post_create'> = {
  bpf_lsm_socket_create: 'socket_create',
  bpf_lsm_socket_post_create: 'socket_post_create',
};

/**
 * Landlock access rights by ABI (include/uapi/linux/landlock.h, security/landlock/limits.h):
 * struct landlock_ruleset_attr has handled_access_fs (16 rights by ABI 5), handled_access_net
 * (ABI 4: BIND_TCP, CONNECT_TCP) and scoped (ABI 6: ABSTRACT_UNIX_SOCKET, SIGNAL). None of
 * them is consulted by socket(): Landlock registers no socket_create hook in these ABIs.
 */
const LANDLOCK_KNOWN = { fs: 0xffff, net: 0x3, scoped: 0x3 };

export interface LsmInputs {
  io: HostIO;
  sys: LsmSyscalls | null;
  noSys: string;
  lsms: string[] | null;
  lsmsSource: string;
  /** CapEff of this process (hex) and whether it is in the initial user namespace. */
  capEffective: string | null;
  usernsIsInit: boolean | null;
}

function errMsg(e: unknown): string {
  const ee = e as NodeJS.ErrnoException;
  return ee && typeof ee.code === 'string' ? ee.code : e instanceof Error ? e.message : String(e);
}

function hasCap(capHex: string | null, cap: number): boolean {
  if (capHex === null) return false;
  return ((BigInt('0x' + capHex) >> BigInt(cap)) & 1n) === 1n;
}

function readAttr(io: HostIO, lsm: string): { text: string; path: string } | { error: string } {
  const tried: string[] = [];
  for (const p of [`/proc/self/attr/${lsm}/current`, '/proc/self/attr/current']) {
    try {
      return { text: io.readText(p).replace(/\0/g, '').trim(), path: p };
    } catch (e) {
      tried.push(`${p}: ${errMsg(e)}`);
    }
  }
  return { error: tried.join('; ') };
}

export function apparmorEvidence(io: HostIO): LsmEvidence {
  const a = readAttr(io, 'apparmor');
  if ('error' in a) return { lsm: 'apparmor', canRefuse: null, why: `the confinement of this process could not be read (${a.error})`, source: '/proc/self/attr/apparmor/current', policies: [] };
  // "unconfined", or "NAME (enforce)" / "(complain)" / "(kill)" / "(unconfined)" / "(prompt)".
  const m = /^(.*?)(?: \((\w+)\))?$/.exec(a.text);
  const name = m?.[1] ?? a.text;
  const mode = m?.[2] ?? (name === 'unconfined' ? 'unconfined' : 'enforce');
  if (name === 'unconfined' || mode === 'unconfined' || mode === 'complain') {
    return { lsm: 'apparmor', canRefuse: false, why: `this process is ${name === 'unconfined' ? 'unconfined' : `in profile ${name} (${mode})`}: AppArmor refuses nothing for it (apparmor_socket_create allows an unconfined label; complain mode only logs)`, source: a.path, policies: [] };
  }
  let rules = 'its network rules are not readable here (the compiled policy is not parsed)';
  try {
    const dir = '/sys/kernel/security/apparmor/features/network';
    io.readdir(dir);
    rules = `the kernel mediates networking (${dir} exists); the profile's network rules are not parsed`;
  } catch { /* securityfs absent: keep the plain statement */ }
  return {
    lsm: 'apparmor', canRefuse: true,
    why: `this process is confined by AppArmor profile ${name} (${mode}); ${rules}`,
    source: a.path,
    policies: [{ name: `AppArmor profile ${name} (${mode})`, detail: `apparmor_socket_create / apparmor_socket_post_create check the profile's network rules; ${rules}`, hooks: ['socket_create', 'socket_post_create'] }],
  };
}

export function selinuxEvidence(io: HostIO): LsmEvidence {
  const a = readAttr(io, 'selinux');
  const ctx = 'error' in a ? null : a.text;
  let enforce: string | null = null;
  let enforceErr = '';
  for (const p of ['/sys/fs/selinux/enforce', '/selinux/enforce']) {
    try { enforce = io.readText(p).trim(); break; } catch (e) { enforceErr += `${p}: ${errMsg(e)}; `; }
  }
  const source = `/sys/fs/selinux/enforce, ${'error' in a ? '/proc/self/attr/current' : a.path}`;
  if (enforce === '0') return { lsm: 'selinux', canRefuse: false, why: `SELinux is permissive (enforce 0): denials are logged, not enforced; context ${ctx ?? 'unknown'}`, source, policies: [] };
  if (enforce === null) return { lsm: 'selinux', canRefuse: null, why: `whether SELinux enforces could not be read (${enforceErr.replace(/; $/, '')}; selinuxfs not mounted?)`, source, policies: [] };
  return {
    lsm: 'selinux', canRefuse: true,
    why: `SELinux enforces; this process runs in context ${ctx ?? 'unknown'}`,
    source,
    policies: [{ name: `SELinux context ${ctx ?? '(unreadable)'} (enforcing)`, detail: 'selinux_socket_create checks the socket class create permission; selinux_socket_post_create labels the socket', hooks: ['socket_create', 'socket_post_create'] }],
  };
}

export function smackEvidence(io: HostIO): LsmEvidence {
  const a = readAttr(io, 'smack');
  const label = 'error' in a ? null : a.text;
  return {
    lsm: 'smack', canRefuse: true,
    why: `Smack label ${label ?? 'unknown'}: smack_socket_post_create labels each AF_INET socket through NetLabel, and a failure there fails socket()`,
    source: 'error' in a ? a.error : a.path,
    policies: [{ name: `Smack label ${label ?? '(unreadable)'}`, detail: 'smack_socket_post_create -> smack_netlabel(sk, SMACK_CIPSO_SOCKET) for PF_INET', hooks: ['socket_post_create'], families: [2] }],
  };
}

export function tomoyoEvidence(): LsmEvidence {
  return {
    lsm: 'tomoyo', canRefuse: false,
    why: 'TOMOYO registers socket_bind, socket_connect, socket_listen and socket_sendmsg hooks, none on socket_create or socket_post_create (security/tomoyo/tomoyo.c): it cannot refuse socket()',
    source: 'security/tomoyo/tomoyo.c tomoyo_hooks[]', policies: [],
  };
}

/**
 * Landlock: ask the kernel which rights its ABI has (each bit of each field tried alone, and a
 * field after `scoped`), then whether this process is in a domain at all. A right the model does
 * not know could be a socket-creation right.
 */
export function landlockEvidence(inp: LsmInputs): LsmEvidence {
  const src = 'landlock_create_ruleset(2) (LANDLOCK_CREATE_RULESET_VERSION; one ruleset per access bit, closed unused)';
  if (!inp.sys) return { lsm: 'landlock', canRefuse: null, why: `the Landlock ABI could not be asked: ${inp.noSys}`, source: src, policies: [] };
  let r: ReturnType<LsmSyscalls['landlockProbe']>;
  try { r = inp.sys.landlockProbe(); } catch (e) { return { lsm: 'landlock', canRefuse: null, why: `landlockProbe failed: ${errMsg(e)}`, source: src, policies: [] }; }
  if (r.errno === ENOSYS || r.errno === EOPNOTSUPP) {
    return { lsm: 'landlock', canRefuse: false, why: `landlock_create_ruleset answers ${r.errno === ENOSYS ? 'ENOSYS (no Landlock in this kernel)' : 'EOPNOTSUPP (built in, not enabled at boot)'}: no domain can exist`, source: src, policies: [] };
  }
  if (r.errno !== 0 || r.abi === undefined) return { lsm: 'landlock', canRefuse: null, why: `landlock_create_ruleset(VERSION) failed with errno ${r.errno}`, source: src, policies: [] };
  const hex = (n: number) => '0x' + n.toString(16);
  const extra = {
    fs: (r.fsMask ?? 0) & ~LANDLOCK_KNOWN.fs,
    net: (r.netMask ?? 0) & ~LANDLOCK_KNOWN.net,
    scoped: (r.scopedMask ?? 0) & ~LANDLOCK_KNOWN.scoped,
  };
  const tailKnown = r.beyondErrno !== E2BIG;
  const named = (mask: number, names: string[]) => { const n = names.filter((_, i) => (mask >> i) & 1); return n.length ? ` (${n.join(', ')})` : ''; };
  const rights = `ABI ${r.abi}: handled_access_fs ${hex(r.fsMask ?? 0)}, handled_access_net ${hex(r.netMask ?? 0)}${named(r.netMask ?? 0, ['BIND_TCP', 'CONNECT_TCP'])}, scoped ${hex(r.scopedMask ?? 0)}${named(r.scopedMask ?? 0, ['ABSTRACT_UNIX_SOCKET', 'SIGNAL'])}; ` +
    (tailKnown ? `a field after scoped is accepted (errno ${r.beyondErrno})` : 'nothing after scoped (a 32-byte attr gets E2BIG)');
  const domain = landlockDomain(inp);
  const unknownRights = tailKnown || extra.fs !== 0 || extra.net !== 0 || extra.scoped !== 0;
  if (!unknownRights) {
    return {
      lsm: 'landlock', canRefuse: false,
      why: `${rights}: none of these rights is checked by socket() (Landlock has no socket_create hook in this ABI), so no Landlock domain can refuse it; ${domain.text}`,
      source: `${src}; ${domain.source}`, policies: [],
    };
  }
  const unknownText = `rights the model does not know (${[extra.fs && `fs ${hex(extra.fs)}`, extra.net && `net ${hex(extra.net)}`, extra.scoped && `scoped ${hex(extra.scoped)}`, tailKnown && 'a field after scoped'].filter(Boolean).join(', ')}), which may include socket creation`;
  if (domain.inDomain === false) {
    return { lsm: 'landlock', canRefuse: false, why: `${rights}; ${unknownText}; but ${domain.text}`, source: `${src}; ${domain.source}`, policies: [] };
  }
  return {
    lsm: 'landlock', canRefuse: true,
    why: `${rights}; ${unknownText}; ${domain.text}`,
    source: `${src}; ${domain.source}`,
    policies: [{ name: `Landlock domain of this process (ABI ${r.abi})`, detail: unknownText, hooks: ['socket_create', 'socket_post_create'] }],
  };
}

/**
 * Whether this process runs under a Landlock domain, without entering one: Landlock's
 * ptrace_access_check refuses PTRACE_MODE_READ of a process outside the caller's domain, so with
 * CAP_SYS_PTRACE in the initial user namespace, reading /proc/1/ns/user tells (pid 1 is outside
 * any domain the caller is in unless it shares it).
 */
function landlockDomain(inp: LsmInputs): { inDomain: boolean | null; text: string; source: string } {
  const source = 'readlink(/proc/1/ns/user) (PTRACE_MODE_READ, which Landlock refuses across domains)';
  if (inp.usernsIsInit !== true || !hasCap(inp.capEffective, 19)) {
    return { inDomain: null, text: 'whether this process is in a Landlock domain is not known (telling needs CAP_SYS_PTRACE in the initial user namespace)', source };
  }
  try {
    inp.io.readlink('/proc/1/ns/user');
    return { inDomain: false, text: 'this process is not in a Landlock domain that excludes pid 1 (a ptrace read of pid 1 is allowed)', source };
  } catch (e) {
    const code = errMsg(e);
    if (code === 'EACCES' || code === 'EPERM') {
      return { inDomain: true, text: `this process runs under a Landlock domain (a ptrace read of pid 1 is refused with ${code} despite CAP_SYS_PTRACE)`, source };
    }
    return { inDomain: null, text: `whether this process is in a Landlock domain is not known (readlink /proc/1/ns/user: ${code})`, source };
  }
}

/**
 * The BPF LSM: every attached LSM program on socket_create / socket_post_create, found through the
 * kernel's program and link ids (root: CAP_SYS_ADMIN). Also the cgroup inet sock_create programs
 * effective for this process's cgroup, which refuse AF_INET/AF_INET6 sockets from inet_create.
 */
export function bpfEvidence(inp: LsmInputs, cgroupPath: string | null): LsmEvidence {
  const src = 'bpf(2) BPF_PROG_GET_NEXT_ID / BPF_LINK_GET_NEXT_ID + BPF_OBJ_GET_INFO_BY_FD; attach points named from /sys/kernel/btf/vmlinux';
  if (!inp.sys) return { lsm: 'bpf', canRefuse: null, why: `BPF programs could not be listed: ${inp.noSys}`, source: src, policies: [] };
  let objs: ReturnType<LsmSyscalls['bpfObjects']>;
  try { objs = inp.sys.bpfObjects(); } catch (e) { return { lsm: 'bpf', canRefuse: null, why: `bpfObjects failed: ${errMsg(e)}`, source: src, policies: [] }; }
  if (objs.errno !== 0 || !objs.progs || !objs.links) {
    return {
      lsm: 'bpf', canRefuse: null,
      why: `BPF programs could not be listed (${objs.errno === EPERM ? 'EPERM: listing needs CAP_SYS_ADMIN in the initial user namespace' : `errno ${objs.errno}`}), so a program on lsm/socket_create cannot be ruled out`,
      source: src, policies: [],
    };
  }
  const policies: PolicyOnPath[] = [];
  const lsmProgs = objs.progs.filter((p) => p.type === BPF_PROG_TYPE_LSM);
  const btf = lsmProgs.length ? vmlinuxBtf() : null;
  let unnamed = 0;
  for (const p of lsmProgs) {
    const fn = p.attachBtfObjId === 0 || btf ? btf?.nameOf(p.attachBtfId) : undefined;
    if (fn === undefined) { unnamed++; continue; }
    const hook = BPF_LSM_SOCKET_HOOKS[fn];
    if (!hook) continue;
    const links = objs.links.filter((l) => l.progId === p.id && (l.type !== BPF_LINK_TYPE_TRACING || l.attachType === BPF_LSM_MAC || l.attachType === BPF_LSM_CGROUP));
    if (links.length === 0) continue; // loaded, not attached: it runs for nobody
    policies.push({
      name: `BPF program ${p.name || '(no name)'} (id ${p.id}) on lsm/${hook}`,
      detail: `attached by link${links.length > 1 ? 's' : ''} ${links.map((l) => l.id).join(', ')}${links.some((l) => l.attachType === BPF_LSM_CGROUP) ? ' (lsm_cgroup)' : ''}; its code decides, the model cannot see into it`,
      hooks: [hook],
    });
  }
  let cgText = 'no cgroup v2 path to ask for inet sock_create programs';
  if (cgroupPath) {
    try {
      const q = inp.sys.bpfCgroupQuery(cgroupPath, BPF_CGROUP_INET_SOCK_CREATE);
      if (q.errno !== 0 || !q.ids) cgText = `BPF_PROG_QUERY(${cgroupPath}, BPF_CGROUP_INET_SOCK_CREATE) failed with errno ${q.errno}`;
      else {
        cgText = `${q.ids.length} inet sock_create program(s) effective for ${cgroupPath}`;
        for (const id of q.ids) {
          const p = objs.progs.find((x) => x.id === id);
          policies.push({
            name: `BPF cgroup program ${p?.name || '(no name)'} (id ${id}) on cgroup/sock_create`,
            detail: `effective for ${cgroupPath}; runs at the end of inet_create/inet6_create (BPF_CGROUP_RUN_PROG_INET_SOCK) and fails the call with EPERM when it returns 0`,
            hooks: ['socket_post_create'], families: [2, 10],
          });
        }
      }
    } catch (e) { cgText = `bpfCgroupQuery failed: ${errMsg(e)}`; }
  }
  const counted = `${objs.progs.length} program(s), ${objs.links.length} link(s) listed, ${lsmProgs.length} of type LSM${unnamed ? ` (${unnamed} with an attach point not named: no vmlinux BTF or a module's BTF)` : ''}; ${cgText}`;
  if (unnamed && policies.length === 0) {
    return { lsm: 'bpf', canRefuse: null, why: `${counted}: an LSM program whose attach point cannot be named might sit on socket_create`, source: src, policies };
  }
  return {
    lsm: 'bpf', canRefuse: policies.length > 0,
    why: policies.length ? `${counted}; on socket(): ${policies.map((p) => p.name).join('; ')}` : `${counted}; none on lsm/socket_create, lsm/socket_post_create or cgroup/sock_create`,
    source: src, policies,
  };
}

/** The cgroup v2 folder of this process, from /proc/self/cgroup ("0::/path") and the cgroup2 mount in mountinfo. */
export function cgroup2Path(io: HostIO): string | null {
  try {
    const line = io.readText('/proc/self/cgroup').split('\n').find((l) => l.startsWith('0::'));
    if (!line) return null;
    const rel = line.slice(3);
    const mount = io.readText('/proc/self/mountinfo').split('\n').map((l) => l.split(' ')).find((f) => {
      const dash = f.indexOf('-');
      return dash > 0 && f[dash + 1] === 'cgroup2';
    });
    if (!mount) return null;
    const root = mount[3];
    const point = mount[4].replace(/\\040/g, ' ');
    if (!(rel === root || rel.startsWith(root === '/' ? '/' : root + '/'))) return null;
    const sub = root === '/' ? rel : rel.slice(root.length);
    return (point + (sub === '/' ? '' : sub)).replace(/\/+$/, '') || '/';
  } catch {
    return null;
  }
}

/** Evidence for each active LSM that has (or might have) a hook on socket(). */
export function gatherLsmEvidence(inp: LsmInputs): Fact<LsmEvidence[]> {
  if (inp.lsms === null) return { value: null, source: inp.lsmsSource, error: 'the active LSMs are unknown' };
  const out: LsmEvidence[] = [];
  const active = new Set(inp.lsms);
  if (active.has('apparmor')) out.push(apparmorEvidence(inp.io));
  if (active.has('selinux')) out.push(selinuxEvidence(inp.io));
  if (active.has('smack')) out.push(smackEvidence(inp.io));
  if (active.has('tomoyo')) out.push(tomoyoEvidence());
  if (active.has('landlock')) out.push(landlockEvidence(inp));
  if (active.has('bpf')) out.push(bpfEvidence(inp, cgroup2Path(inp.io)));
  else {
    // cgroup sock_create programs need no LSM: ask anyway when BPF is there to ask.
    const b = inp.sys ? bpfEvidence(inp, cgroup2Path(inp.io)) : null;
    if (b && b.policies.length) out.push({ ...b, policies: b.policies.filter((p) => p.name.startsWith('BPF cgroup')) });
  }
  return { value: out, source: `per LSM in ${inp.lsmsSource}: ${out.map((e) => `${e.lsm}: ${e.source}`).join('; ') || 'none with socket hooks'}` };
}
