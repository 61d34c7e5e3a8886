/**
 * Seccomp filters as host facts: compiled from OCI profiles, generated for systemd's
 * RestrictAddressFamilies=, or read from a process; and added to a host profile the way the
 * kernel stacks them (a new filter runs together with every filter already in force).
 */
import type { HostProfile, SeccompFilterInfo } from '../../types';
import { native } from '../../native';
import { afMax, parseRelease } from '../../kernel/release';
import { capsOfMask, loadOciProfile, ociFilter, type CompiledFilter } from './oci';
import { parseRestrictFamilies, restrictFamiliesFilters } from './systemd';
import { SYSTEMD_AF_MAX } from './af';

export { SeccompProfileError, SeccompUnavailableError, loadOciProfile, parseOciProfile, ociFilter, capsOfMask, ACTIONS, OPS } from './oci';
export { RestrictFamiliesError, parseRestrictFamilies, restrictFamiliesFilters } from './systemd';
export { ownFilters, filtersOfPid } from './self';

export interface PolicySpec {
  /** OCI profiles, each compiled as runc would install it. */
  seccomp?: string[];
  /** RestrictAddressFamilies= value ("AF_INET+AF_UNIX", "~AF_PACKET", "none"). */
  restrictFamilies?: string;
  /** Capabilities for includes/excludes.caps (CAP_* names); default: the profile's bounding set. */
  caps?: string[];
}

export interface CompiledPolicies {
  filters: SeccompFilterInfo[];
  notes: string[];
}

/** Compile what the spec asks for, for the host the profile describes. */
export function compilePolicies(profile: HostProfile, spec: PolicySpec): CompiledPolicies {
  const machine = profile.kernel.machine.value ?? 'x86_64';
  const release = profile.kernel.release.value;
  const caps = spec.caps ?? (profile.creds.capBounding.value !== null ? capsOfMask(profile.creds.capBounding.value) : []);
  const filters: SeccompFilterInfo[] = [];
  const notes: string[] = [];
  for (const file of spec.seccomp ?? []) {
    const c: CompiledFilter = ociFilter(loadOciProfile(file), { machine, release, caps });
    filters.push(c.filter);
    for (const n of c.notes) notes.push(`${file}: ${n}`);
  }
  if (spec.restrictFamilies !== undefined) {
    // systemd's AF_MAX is the one it was built with; the kernel's may be larger.
    const rel = release ? parseRelease(release) : null;
    const max = Math.min(SYSTEMD_AF_MAX, rel ? afMax(rel) : SYSTEMD_AF_MAX);
    const r = parseRestrictFamilies(spec.restrictFamilies, max);
    filters.push(...restrictFamiliesFilters(r, machine, max, notes));
  }
  return { filters, notes };
}

/**
 * The profile with `filters` installed on top of those in force. When the filters in force
 * cannot be read, the result stays unreadable (the new ones add to unknown ones).
 */
export function withFilters(profile: HostProfile, filters: SeccompFilterInfo[], source: string): HostProfile {
  if (filters.length === 0) return profile;
  const sec = profile.security;
  const before = sec.filters;
  const count = (sec.seccompFilterCount?.value ?? before?.value?.length ?? 0) + filters.length;
  const out: HostProfile = { ...profile, security: { ...sec, seccomp: { value: 2, source } , seccompFilterCount: { value: count, source } } };
  if (before && before.value === null) out.security.filters = { value: null, source: before.source, error: before.error ?? 'unreadable' };
  else if (sec.seccomp.value === 2 && !before) out.security.filters = { value: null, source: sec.seccomp.source, error: 'filters were in force before and the profile does not carry them' };
  else out.security.filters = { value: [...(before?.value ?? []), ...filters], source };
  return out;
}

/** Install the filters in this process (irreversible: workers and re-executed CLI children only). */
export function installFilters(filters: SeccompFilterInfo[]): void {
  for (const f of filters) {
    const err = native().seccompInstall(new Uint32Array(f.insns.flat()));
    if (err !== 0) throw new Error(`installing seccomp filter "${f.name}" failed with errno ${err}`);
  }
}
