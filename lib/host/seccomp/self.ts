/**
 * The caller's own seccomp filters as host facts. /proc/self/status says how many there are
 * (Seccomp_filters); the programs themselves can only be read with PTRACE_SECCOMP_GET_FILTER,
 * which kernel/seccomp.c seccomp_get_filter grants only to a tracer with CAP_SYS_ADMIN in the
 * initial user namespace that is not itself under seccomp. A filtered process can therefore
 * never read its own filters (nor those of a helper child sharing them): the attempt is still
 * made, on a helper child, so the reason recorded is the kernel's answer, not an assumption.
 */
import type { Fact, SeccompFilterInfo } from '../../types';
import { native } from '../../native';
import { errnoName } from '../../abi/names';

/** PTRACE_SECCOMP_GET_FILTER index 0 is the newest filter: install order is the reverse. */
export function filtersOfPid(pid: number): { filters: SeccompFilterInfo[] } | { why: string } {
  const r = native().seccompReadFilters(pid);
  const who = pid === 0 ? 'a helper child sharing this process\'s filters' : `pid ${pid}`;
  if (r.error !== undefined) return { why: `${r.error} on ${who} failed with ${errnoName(r.errno)}` };
  if (r.errno !== 2 /* ENOENT: past the last filter */ && r.errno !== 0) {
    const why = r.errno === 13 /* EACCES */
      ? 'PTRACE_SECCOMP_GET_FILTER answered EACCES: the reader must hold CAP_SYS_ADMIN in the initial user namespace and must not itself run seccomp filters (kernel/seccomp.c seccomp_get_filter), and a process that has filters passes them to every process it starts'
      : r.errno === 22 /* EINVAL */ && r.filters.length === 0
        ? 'PTRACE_SECCOMP_GET_FILTER answered EINVAL: no filter to read, or a kernel without CONFIG_CHECKPOINT_RESTORE'
        : `PTRACE_SECCOMP_GET_FILTER on ${who} answered ${errnoName(r.errno)} after ${r.filters.length} filter(s)`;
    return { why };
  }
  const filters: SeccompFilterInfo[] = r.filters.map((f, i) => {
    const insns: Array<[number, number, number, number]> = [];
    for (let k = 0; k < f.length; k += 4) insns.push([f[k], f[k + 1], f[k + 2], f[k + 3]]);
    return { name: `filter ${r.filters.length - 1 - i} of ${pid === 0 ? 'this process' : `pid ${pid}`}`, source: `PTRACE_SECCOMP_GET_FILTER index ${i} on ${who}`, insns };
  });
  return { filters: filters.reverse() };
}

/** The filters fact for a live profile of this process, given its Seccomp_filters count. */
export function ownFilters(count: Fact<number>, seccompMode: Fact<number>): Fact<SeccompFilterInfo[]> {
  if (seccompMode.value === 0 || count.value === 0) return { value: [], source: `${count.source}: 0` };
  if (count.value === null && seccompMode.value === null) return { value: null, source: count.source, error: count.error ?? 'Seccomp_filters unreadable' };
  let r: ReturnType<typeof filtersOfPid>;
  try {
    r = filtersOfPid(0);
  } catch (e) {
    return { value: null, source: 'PTRACE_SECCOMP_GET_FILTER', error: `the addon could not try: ${(e as Error).message}` };
  }
  if ('why' in r) return { value: null, source: 'PTRACE_SECCOMP_GET_FILTER on a helper child', error: r.why };
  return { value: r.filters, source: 'PTRACE_SECCOMP_GET_FILTER on a helper child sharing the filters' };
}
