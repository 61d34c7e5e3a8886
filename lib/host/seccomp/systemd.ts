/**
 * systemd's RestrictAddressFamilies= as the filters systemd installs (src/shared/seccomp-util.c
 * seccomp_restrict_address_families), compiled with libseccomp as systemd does:
 *
 *   for each local arch that has socket() rather than socketcall() (on x86-64: x86_64 and x32;
 *   i386 is skipped), one filter: seccomp_init_for_arch(arch, ALLOW) (the native arch removed
 *   when it is not this one, bad-arch action ALLOW, no NNP fiddling), rules added with
 *   seccomp_rule_add_exact, every one ERRNO(EAFNOSUPPORT) on socket's arg0:
 *     allow list: arg0 < first, arg0 > last, and arg0 == af for every af in (0, AF_MAX) not
 *                 listed; none of the list in range: socket() refused outright
 *     deny list (~): arg0 == af for each listed af
 *   "none" is an allow list with nothing in it.
 *
 * socketpair() is not filtered, and neither is socketcall() on the arches that are skipped.
 */
import { native } from '../../native';
import type { SeccompFilterInfo } from '../../types';
import { AF_NAMES_FOR_SYSTEMD, afNumber } from './af';
import { SeccompUnavailableError } from './oci';

export class RestrictFamiliesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestrictFamiliesError';
  }
}

export interface RestrictFamilies {
  allow: boolean;
  families: number[];
  text: string;
}

/** "AF_INET+AF_UNIX", "AF_INET AF_UNIX", "~AF_PACKET", "none". */
export function parseRestrictFamilies(text: string, afMax: number): RestrictFamilies {
  const t = text.trim();
  if (t === 'none') return { allow: true, families: [], text: 'none' };
  const deny = t.startsWith('~');
  const body = deny ? t.slice(1) : t;
  const names = body.split(/[+\s,]+/).filter((x) => x !== '');
  if (names.length === 0) throw new RestrictFamiliesError(`RestrictAddressFamilies "${text}": no family listed (write AF_INET+AF_UNIX, ~AF_PACKET or none)`);
  const families: number[] = [];
  for (const n of names) {
    const af = afNumber(n);
    if (af === null || af <= 0 || af >= afMax) {
      // systemd: af_from_name() knows AF_* names below its compiled AF_MAX, and not AF_UNSPEC.
      throw new RestrictFamiliesError(`RestrictAddressFamilies "${text}": "${n}" is not an address family systemd accepts (AF_* names from AF_UNIX to ${AF_NAMES_FOR_SYSTEMD[afMax - 1] ?? `family ${afMax - 1}`}, no AF_UNSPEC)`);
    }
    if (!families.includes(af)) families.push(af);
  }
  return { allow: !deny, families, text: t };
}

/** The local arches systemd filters on a machine (SECCOMP_FOREACH_LOCAL_ARCH, then the supported ones). */
const SUPPORTED_LOCAL: Record<string, Array<{ lib: string; name: string }>> = {
  x86_64: [{ lib: 'x86_64', name: 'x86_64' }, { lib: 'x32', name: 'x32' }], // x86 (i386) skipped: socketcall
  aarch64: [{ lib: 'aarch64', name: 'arm64' }], // arm (32-bit) is supported too where the kernel runs it
  riscv64: [{ lib: 'riscv64', name: 'riscv64' }],
};

export function restrictFamiliesFilters(r: RestrictFamilies, machine: string, afMax: number, notes: string[] = []): SeccompFilterInfo[] {
  const n = native();
  const lib = n.seccompLibrary();
  if (lib.error !== undefined) throw new SeccompUnavailableError(lib.error);
  const arches = SUPPORTED_LOCAL[machine];
  if (!arches) throw new RestrictFamiliesError(`RestrictAddressFamilies= on machine "${machine}": sockbridge knows systemd's arch list for ${Object.keys(SUPPORTED_LOCAL).join(', ')} only`);
  const EAFNOSUPPORT = 97;
  const ERR = 0x00050000 | EAFNOSUPPORT;
  const out: SeccompFilterInfo[] = [];
  // SCMP_SYS(socket): the number of the arch systemd was built for (x86_64's 41 here); libseccomp
  // translates it for the filter's arch, and seccomp_rule_add_exact refuses it where it cannot.
  const res = n.seccompResolve('native', ['socket']);
  if (res.error !== undefined) throw new SeccompUnavailableError(res.error);
  const nr = res.nrs[0];
  for (const a of arches) {
    const rules: Array<{ nr: number; action: number; conds: Array<[number, number, number, number, number, number]> }> = [];
    const text: NonNullable<SeccompFilterInfo['rules']> = [];
    const add = (conds: Array<[number, string, number]>) => {
      const OPS: Record<string, number> = { LT: 2, EQ: 4, GT: 6 };
      rules.push({ nr, action: ERR, conds: conds.map(([i, op, v]) => [i, OPS[op], v, 0, 0, 0]) });
      text.push({ syscall: 'socket', action: 'ERRNO(EAFNOSUPPORT)', ret: ERR, conds: conds.map(([i, op, v]) => [i, op, String(v), '0']), origin: `RestrictAddressFamilies=${r.text}` });
    };
    if (r.allow) {
      const inRange = r.families.filter((f) => f > 0 && f < afMax);
      if (inRange.length === 0) add([]);
      else {
        const first = Math.min(...inRange);
        const last = Math.max(...inRange);
        add([[0, 'LT', first]]);
        add([[0, 'GT', last]]);
        for (let af = 1; af < afMax; af++) if (!r.families.includes(af)) add([[0, 'EQ', af]]);
      }
    } else {
      for (const af of r.families) add([[0, 'EQ', af]]);
    }
    const c = n.seccompCompile({
      defaultAction: 0x7fff0000,
      arches: [a.lib],
      removeNative: true,
      // SCMP_FLTATR_ACT_BADARCH = 2 -> ALLOW; SCMP_FLTATR_CTL_NNP = 3 -> 0
      attrs: [[2, 0x7fff0000], [3, 0]],
      exact: true,
      rules,
    });
    if (c.error !== undefined) {
      // systemd: log_debug("Failed to add socket() rule for architecture %s, skipping") and
      // continue: that arch gets no filter.
      notes.push(`RestrictAddressFamilies=${r.text}: libseccomp refuses the socket() rule for ${a.name} (${c.error}${c.errno ? `, errno ${c.errno}` : ''}); systemd skips that architecture, so no filter is installed for it`);
      continue;
    }
    const insns: Array<[number, number, number, number]> = [];
    for (let i = 0; i < c.insns.length; i += 4) insns.push([c.insns[i], c.insns[i + 1], c.insns[i + 2], c.insns[i + 3]]);
    out.push({
      name: `RestrictAddressFamilies=${r.text} (${a.name})`,
      source: `generated as systemd's seccomp_restrict_address_families does, with libseccomp ${lib.version} (AF_MAX ${afMax})`,
      insns,
      rules: text,
      defaultAction: 'ALLOW',
    });
  }
  return out;
}
