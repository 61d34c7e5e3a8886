/**
 * --seccomp FILE, --restrict-address-families LIST, --seccomp-caps LIST, --seccomp-in-force FILE:
 * policies in front of socket() for explain, compare and sweep (issue 11).
 *
 * The model gets the filters as host facts. The kernel road gets them for real: a live command
 * with a policy re-runs itself as a child process that installs the filters first (a filter can
 * never be removed, so the process that asked keeps none).
 */
import * as path from 'path';
import type { HostProfile } from '../types';
import { opt, UsageError, type OptionSpec, type Parsed } from './args';
import type { Io } from './main';
import { compilePolicies, installFilters, withFilters, type PolicySpec } from '../host/seccomp';
import { CAP_NAMES } from '../ktrace/align';

export const POLICY_OPTS: Record<string, OptionSpec> = {
  seccomp: { value: true, repeat: true, arg: 'FILE', help: 'an OCI seccomp profile (Docker, Podman, containerd JSON) compiled with libseccomp as runc installs it; may be repeated' },
  'restrict-address-families': { value: true, arg: 'LIST', help: 'systemd RestrictAddressFamilies=: AF_INET+AF_UNIX (allow), ~AF_PACKET (deny) or none' },
  'seccomp-caps': { value: true, arg: 'LIST', help: 'capabilities the container holds, for the profile\'s includes/excludes (CAP_A+CAP_B; default: this process\'s bounding set)' },
  'seccomp-in-force': { value: true, arg: 'FILE', help: 'the OCI profile the runtime already installed on this process (in a container): run it instead of calling the filters unreadable' },
};

/** Internal: the re-executed child installs the filters, then runs as asked. */
export const INSTALL_OPT: Record<string, OptionSpec> = {
  'install-policy': { value: false, help: '(internal) install the policy filters in this process first' },
};

export function policySpec(p: Parsed): PolicySpec | null {
  const seccomp = p.options.get('seccomp') ?? [];
  const raf = opt(p, 'restrict-address-families');
  if (seccomp.length === 0 && raf === undefined) {
    if (opt(p, 'seccomp-caps') !== undefined) throw new UsageError('--seccomp-caps goes with --seccomp FILE');
    return null;
  }
  const spec: PolicySpec = { seccomp: seccomp.map((f) => path.resolve(f)) };
  if (raf !== undefined) spec.restrictFamilies = raf;
  const caps = opt(p, 'seccomp-caps');
  if (caps !== undefined) spec.caps = parseCaps(caps);
  return spec;
}

export function parseCaps(text: string): string[] {
  if (text.trim() === '' || text === 'none') return [];
  return text.split(/[+,\s]+/).filter(Boolean).map((c) => {
    const n = c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : `CAP_${c.toUpperCase()}`;
    if (!CAP_NAMES.includes(n)) throw new UsageError(`--seccomp-caps: unknown capability "${c}"; e.g. CAP_NET_RAW+CAP_AUDIT_WRITE`);
    return n;
  });
}

/**
 * The profile the model uses: with --seccomp-in-force, the declared filters replace the
 * unreadable ones (when their number matches Seccomp_filters); with a policy, its filters are
 * added on top.
 */
export function policyProfile(profile: HostProfile, p: Parsed, notes: string[], opts: { spec: boolean } = { spec: true }): HostProfile {
  let out = profile;
  const inForce = opt(p, 'seccomp-in-force');
  if (inForce !== undefined) {
    const c = compilePolicies(profile, { seccomp: [path.resolve(inForce)], caps: opt(p, 'seccomp-caps') !== undefined ? parseCaps(opt(p, 'seccomp-caps')!) : undefined });
    notes.push(...c.notes);
    const count = profile.security.seccompFilterCount?.value ?? null;
    const why = count === null ? 'Seccomp_filters unreadable' : count !== c.filters.length ? `Seccomp_filters says ${count}, the declared profile makes ${c.filters.length}` : null;
    if (why) notes.push(`--seccomp-in-force ${inForce} not used: ${why}; the filters stay unreadable`);
    else {
      out = { ...out, security: { ...out.security, filters: { value: c.filters, source: `declared with --seccomp-in-force ${inForce} (compiled as runc installs it; the programs in force cannot be read back)` } } };
    }
  }
  const spec = opts.spec ? policySpec(p) : null;
  if (spec) {
    const c = compilePolicies(out, spec);
    notes.push(...c.notes);
    out = withFilters(out, c.filters, 'given with --seccomp / --restrict-address-families (compiled here; a live command installs them in the process that calls socket())');
  }
  return out;
}

/** In the re-executed child: compile and install the policy (before anything else runs). */
export function installPolicy(profile: HostProfile, p: Parsed): void {
  const spec = policySpec(p);
  if (!spec) return;
  installFilters(compilePolicies(profile, spec).filters);
}

/**
 * Re-run this command in a child that installs the policy first; its output goes to `io`.
 * Returns the child's exit status.
 */
export function rerunWithPolicy(command: string, argv: string[], io: Io): number {
  const bin = path.resolve(__dirname, '..', '..', '..', 'bin', 'sockbridge.js');
  // child_process's spawnSync, loaded only here (lib/sweep/child.ts).
  const r = (require('../sweep/child') as typeof import('../sweep/child')).spawnSync(process.execPath, [bin, command, ...argv, '--install-policy'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.stdout) io.out(r.stdout);
  if (r.stderr) io.err(r.stderr);
  if (r.status === null) return 128 + (r.signal ? (require('os') as typeof import('os')).constants.signals[r.signal] ?? 1 : 1);
  return r.status;
}
