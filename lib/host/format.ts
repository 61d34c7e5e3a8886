/**
 * formatProfile(): the host profile as people read it (`sockbridge host`): one section per
 * area, each fact with its value and where it came from; unknown facts are flagged with the
 * reason, because every prediction that depends on them will branch.
 */
import type { Fact, HostProfile, IdMapExtent } from '../types';
import { FAMILY_PROVIDERS, NETLINK_PROVIDERS } from './families';

/** Capability names by number (include/uapi/linux/capability.h), for decoding masks. */
const CAP_NAMES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
];

/** The capabilities that decide socket creation, shown by name under each mask. */
const SOCKET_CAPS = [12, 13, 21, 24]; // NET_ADMIN, NET_RAW, SYS_ADMIN, SYS_RESOURCE

function capSummary(hex: string): string {
  const mask = BigInt('0x' + hex);
  const has = (n: number): boolean => ((mask >> BigInt(n)) & 1n) === 1n;
  const all = CAP_NAMES.every((_, i) => has(i));
  const missing = CAP_NAMES.map((n, i) => (has(i) ? null : n)).filter((x): x is string => x !== null);
  const key = SOCKET_CAPS.map((n) => `${has(n) ? '+' : '-'}${CAP_NAMES[n]}`).join(' ');
  if (all) return `${hex} (all ${CAP_NAMES.length} known; ${key})`;
  if (mask === 0n) return `${hex} (none)`;
  return `${hex} (${key}${missing.length <= 6 ? `; lacks ${missing.join(', ')}` : ''})`;
}

function familyName(n: number): string {
  return FAMILY_PROVIDERS[n]?.name ?? `family ${n}`;
}

function netlinkName(n: number): string {
  return NETLINK_PROVIDERS.find((p) => p.protocol === n)?.name ?? `NETLINK ${n}`;
}

function list(xs: readonly unknown[], max = 12): string {
  if (xs.length === 0) return '(none)';
  const shown = xs.slice(0, max).map(String).join(', ');
  return xs.length > max ? `${shown}, ... (${xs.length} in all)` : shown;
}

/**
 * What the shown ping_group_range means. In a user namespace the two ids are shown through its
 * gid_map, and a map that does not keep the ids' order shows a range the kernel holds as "5 1000"
 * as "1 0": then the lower ids are named, not "empty" (at level 1 they are the kernel's own ids,
 * which is what ping_init_sock compares).
 */
function pingRangeNote(p: HostProfile, lo: number, hi: number): string {
  const map = p.creds.usernsIsInit.value === true ? null : p.creds.usernsMaps?.gidMap.value ?? null;
  if (map !== null && map.length > 0) {
    const lower = (id: number): number | null => {
      const e = map.find((x) => id >= x.first && id - x.first < x.count);
      return e ? e.lowerFirst + (id - e.first) : null;
    };
    const a = lower(lo);
    const b = lower(hi);
    if (a !== null && b !== null && (a > b) !== (lo > hi)) {
      const level1 = p.creds.usernsLevel?.value === 1;
      return ` (shown through this namespace's gid_map, which does not keep the ids' order: the lower ids are ${a} ${b}` +
        `${level1 ? ', the kernel\'s own at level 1' : ''}, a range that is ${a > b ? 'empty' : 'not empty'} there)`;
    }
  }
  return lo > hi ? ' (empty: nobody may create ping sockets)' : '';
}

export function formatProfile(p: HostProfile): string {
  const out: string[] = [];
  const width = 26;
  let unknownCount = 0;

  const section = (title: string): void => { out.push('', title); };
  const row = <T>(label: string, f: Fact<T>, show: (v: T) => string = (v) => String(v)): void => {
    const head = `  ${label.padEnd(width)}`;
    if (f.value === null && f.hidden) {
      unknownCount++;
      // The shown value raw: what `show` says of a value ("empty: nobody may...") is not true of
      // what an overflow id stands for.
      const shown = Array.isArray(f.hidden.shown) ? f.hidden.shown.join(' ') : String(f.hidden.shown);
      out.push(`${head}HIDDEN: shown as ${shown}`, `  ${''.padEnd(width)}  ${f.hidden.why}`, `  ${''.padEnd(width)}  from ${f.source}`);
    } else if (f.value === null) {
      unknownCount++;
      out.push(`${head}UNKNOWN: ${f.error ?? 'no reason given'}`, `  ${''.padEnd(width)}  from ${f.source}`);
    } else {
      out.push(`${head}${show(f.value)}`, `  ${''.padEnd(width)}  from ${f.source}${f.error ? ` (note: ${f.error})` : ''}`);
    }
  };

  out.push(`Host profile (schema ${p.schema})`, `  ${'taken on'.padEnd(width)}${p.takenOn}`);

  section('Kernel');
  row('release', p.kernel.release);
  row('machine', p.kernel.machine);
  row('config', p.kernel.config, (c) => {
    const n = Object.keys(c).length;
    const mods = c.CONFIG_MODULES === 'y' ? 'CONFIG_MODULES=y' : 'CONFIG_MODULES not set';
    return `${n} symbols set; ${mods}`;
  });

  section('Modules');
  row('modprobe', p.modules.modprobe, (v) => (v === '' ? '"" (no usermode modprobe)' : v));
  row('modules_disabled', p.modules.modulesDisabled);
  row('socket-path aliases', p.modules.aliases, (a) => (a.length === 0 ? '(none)' : `${a.length}: ${list(a.map(([pat, m]) => `${pat} -> ${m}`), 6)}`));
  row('modules.dep entries kept', p.modules.deps, (d) => String(Object.keys(d).length));
  row('built-in modules', p.modules.builtin, (b) => String(b.length));
  row('loaded modules', p.modules.loaded, (l) => list(l));
  if (p.modules.failing) row('known to fail to load', p.modules.failing, (l) => list(l));

  section('Network');
  row('families registered', p.net.families, (fs) => list(fs.map((f) => `${f} ${familyName(f)}`), 50));
  row('/proc/net/protocols', p.net.protocols, (ps) => list(ps, 50));
  row('netlink registered', p.net.netlink, (ns) => list(ns.map((n) => `${n} ${netlinkName(n).replace(/^NETLINK_/, '')}`), 50));
  row('ping_group_range', p.net.pingGroupRange, ([lo, hi]) => `${lo} ${hi}${pingRangeNote(p, lo, hi)}`);
  row('net.mptcp.enabled', p.net.mptcpEnabled);
  row('netns is init_net', p.net.netnsIsInit);
  row('netns owned by my userns', p.net.netnsOwnedByCallerUserns);
  row('netns inode', p.net.netnsInode);

  section('Credentials');
  const c = p.creds;
  const ids = (fs: Array<Fact<number>>) => () => fs.map((f) => (f.value ?? (f.hidden ? `${f.hidden.shown} (overflow)` : '?'))).join(' / ');
  row('uid (r/e/s)', c.ruid, ids([c.ruid, c.euid, c.suid]));
  row('fsuid', c.fsuid);
  row('gid (r/e/s)', c.rgid, ids([c.rgid, c.egid, c.sgid]));
  row('fsgid', c.fsgid);
  row('groups', c.groups, (g) => list(g, 32));
  row('CapEff', c.capEffective, capSummary);
  row('CapPrm', c.capPermitted, capSummary);
  row('CapBnd', c.capBounding, capSummary);
  row('userns is initial', c.usernsIsInit);
  row('userns inode', c.usernsInode);
  if (c.usernsLevel) row('userns level', c.usernsLevel, (l) => (l === 0 ? '0 (the initial user namespace)' : l === 1 ? '1 (a child of the initial one: gid_map\'s lower ids are kernel ids)' : String(l)));
  if (c.usernsMaps) {
    const m = c.usernsMaps;
    const ext = (xs: IdMapExtent[]) => (xs.length === 0 ? '(empty: no id is mapped)' : xs.map((e) => `${e.first} -> ${e.lowerFirst} (${e.count})`).join('; '));
    row('uid_map', m.uidMap, ext);
    row('gid_map', m.gidMap, ext);
    row('setgroups', m.setgroups);
    row('overflowuid / overflowgid', m.overflowUid, (u) => `${u} / ${m.overflowGid.value ?? '?'} (what an unmapped id is shown as)`);
  }

  section('Limits');
  const lim = (v: number): string => (v === -1 ? 'unlimited' : String(v));
  row('RLIMIT_NOFILE soft', p.limits.nofileSoft, lim);
  row('RLIMIT_NOFILE hard', p.limits.nofileHard, lim);
  row('fs.file-max', p.limits.fileMax);
  row('fs.nr_open', p.limits.nrOpen);
  row('open fds', p.limits.openFds, (fds) => `${fds.length}: ${list(fds, 20)}`);

  section('Security');
  row('seccomp', p.security.seccomp, (s) => `${s} (${['none', 'strict', 'filter'][s] ?? 'unknown mode'})`);
  row('LSMs', p.security.lsms, (l) => list(l));
  if (p.security.seccompFilterCount) row('seccomp filters', p.security.seccompFilterCount);
  if (p.security.filters) {
    row('filter programs', p.security.filters, (fs) => (fs.length === 0 ? 'none in force' : `${fs.length} readable`));
    for (const f of p.security.filters.value ?? []) {
      out.push(`    ${f.name}: ${f.insns.length} instructions${f.defaultAction ? `, default ${f.defaultAction}` : ''} (${f.source})`);
      for (const r of f.rules ?? []) {
        const conds = r.conds.length ? r.conds.map(([i, op, v, v2]) => `arg${i} ${op} ${op === 'MASKED_EQ' ? `${v} == ${v2}` : v}`).join(' && ') : 'always';
        out.push(`      ${r.syscall}: ${r.action} if ${conds}  (${r.origin})`);
      }
    }
  }
  if (p.security.lsmEvidence) {
    row('LSM evidence', p.security.lsmEvidence, (ev) => (ev.length === 0 ? '(no active LSM with a socket hook)' : `${ev.length} LSM(s) looked at`));
    for (const e of p.security.lsmEvidence.value ?? []) {
      const verdict = e.canRefuse === true ? 'COULD REFUSE socket()' : e.canRefuse === false ? 'cannot refuse socket()' : 'UNKNOWN whether it could refuse socket()';
      out.push(`    ${e.lsm.padEnd(width - 2)}${verdict}`, `  ${''.padEnd(width)}  ${e.why}`);
      for (const pol of e.policies) out.push(`  ${''.padEnd(width)}  - ${pol.name} on ${pol.hooks.join(', ')}${pol.families ? ` (families ${pol.families.join(', ')})` : ''}: ${pol.detail}`);
      out.push(`  ${''.padEnd(width)}  from ${e.source}`);
    }
  }

  out.push('', unknownCount === 0
    ? 'Every fact is known.'
    : `${unknownCount} fact${unknownCount === 1 ? ' is' : 's are'} UNKNOWN: predictions that need ${unknownCount === 1 ? 'it' : 'them'} list every possible result.`);
  return out.join('\n').replace(/^\n/, '') + '\n';
}
