/**
 * Variants: the same sweep as someone else, somewhere else. Each runs in a child process
 * (setpriv / unshare with argv arrays, never a shell), so the parent's credentials, namespaces
 * and limits never change. The child is `sockbridge sweep --worker VARIANT ...`; it runs both
 * roads itself (its own host profile: its creds, its namespaces) and streams JSON lines back.
 */
import * as fs from 'fs';
import * as path from 'path';
/** The argv functions of child_process, from ./child: loaded when a variant needs a process (a sweep of `self` alone never does). */
const cp = (): typeof import('./child') => require('./child') as typeof import('./child');

export interface VariantSpec {
  name: string;
  about: string;
  /** The argv that wraps `node sockbridge ...`, or null when the worker sets things up itself. */
  wrapper: string[];
  /** Why it cannot run here, or null. */
  unavailable(): string | null;
  /**
   * Not in the default sweep (nor in `--variants all`): run only when named, or in a group
   * (`--variants namespaces`). Those whose cases may be UNSUPPORTED are opt-in, so that the
   * default sweep's exit 0 keeps meaning every case MATCHes.
   */
  optIn?: boolean;
  /** Extra environment for the worker. */
  env?: () => Record<string, string>;
}

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = path.join(dir, cmd);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}

/** uid 65534 must be able to read the package: every folder up to / searchable by others. */
function unreadableByOthers(dir: string): string | null {
  for (let d = dir; ; d = path.dirname(d)) {
    const st = fs.statSync(d);
    if ((st.mode & 0o001) === 0) return `uid 65534 cannot reach the package: ${d} is not searchable by others (chmod o+x ${d}, or install sockbridge elsewhere)`;
    if (d === '/') return null;
  }
}

const isRoot = () => process.geteuid?.() === 0;

const PKG = path.resolve(__dirname, '..', '..', '..');
/** setpriv as uid/gid 65534 with no groups: the prefix of the unprivileged variants. */
const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

function needs(root: boolean, ...cmds: string[]): () => string | null {
  return () => {
    if (root && !isRoot()) return 'needs root (run as root)';
    for (const c of cmds) if (!which(c)) return `${c}(1) is not installed (util-linux)`;
    return null;
  };
}

/** Root, setpriv, and a package uid 65534 can read; then whether uid 65534 may create a user namespace. */
function unprivUsernsUnavailable(): string | null {
  const base = needs(true, 'setpriv', 'unshare')() ?? unreadableByOthers(PKG);
  if (base) return base;
  const r = cp().spawnSync(which('setpriv')!, [...AS_NOBODY.slice(1), '--inh-caps=-all', '--', which('unshare')!, '--user', '--map-root-user', 'true'], { stdio: 'ignore', timeout: 10000 });
  return r.status === 0 ? null : 'uid 65534 may not create a user namespace here (kernel.unprivileged_userns_clone, user.max_user_namespaces, or an LSM refuses it)';
}

let usernsVerdict: string | null | undefined;
/** Can this process create a user namespace? Tried once with `unshare --user true`. */
function usernsUnavailable(): string | null {
  if (usernsVerdict !== undefined) return usernsVerdict;
  const unshare = which('unshare');
  if (!unshare) return (usernsVerdict = 'unshare(1) is not installed (util-linux)');
  const r = cp().spawnSync(unshare, ['--user', '--map-root-user', '--net', 'true'], { stdio: 'ignore', timeout: 10000 });
  usernsVerdict = r.status === 0 ? null : 'this host refuses new user namespaces (unshare --user failed; see kernel.unprivileged_userns_clone / user.max_user_namespaces)';
  return usernsVerdict;
}

export const VARIANTS: VariantSpec[] = [
  {
    name: 'self',
    about: 'this process as it is',
    wrapper: [],
    unavailable: () => null,
  },
  {
    name: 'nobody',
    about: 'uid/gid 65534, no supplementary groups, every capability dropped (setpriv)',
    wrapper: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--'],
    unavailable: () => (!isRoot() ? 'needs root to change uid (run as root)'
      : !which('setpriv') ? 'setpriv(1) is not installed (util-linux)'
      : unreadableByOthers(PKG)),
  },
  {
    name: 'userns',
    about: 'a new user and network namespace, mapped to root inside (unshare -U -r -n)',
    wrapper: ['unshare', '--user', '--map-root-user', '--net', '--'],
    unavailable: usernsUnavailable,
  },
  {
    name: 'userns-hostnet',
    about: 'a new user namespace that keeps the host network namespace (unshare -U -r)',
    wrapper: ['unshare', '--user', '--map-root-user', '--'],
    unavailable: usernsUnavailable,
  },
  {
    name: 'netns',
    about: 'a new network namespace as this user (unshare -n): counters are exact there',
    wrapper: ['unshare', '--net', '--'],
    unavailable: () => (!isRoot() ? 'needs CAP_SYS_ADMIN (root) for unshare --net' : !which('unshare') ? 'unshare(1) is not installed' : null),
  },
  {
    name: 'rlimit',
    about: 'RLIMIT_NOFILE exhausted: the soft limit set to the lowest free fd, so no new fd fits',
    wrapper: [],
    unavailable: () => null,
  },
  // --- ids seen through user namespaces, and namespaced sysctls (issue 12) ---
  {
    name: 'userns-nomap',
    about: 'a new user namespace with no uid/gid mapping at all (unshare -U): every id, and ping_group_range, shows as the overflow id',
    wrapper: ['unshare', '--user', '--'],
    unavailable: usernsUnavailable,
    optIn: true,
  },
  {
    name: 'userns-partial',
    about: 'a new user namespace mapping only id 1000 inside to this user (unshare -U --map-user=1000 --map-group=1000): other ids show as overflow',
    wrapper: ['unshare', '--user', '--map-user=1000', '--map-group=1000', '--'],
    unavailable: usernsUnavailable,
    optIn: true,
  },
  {
    name: 'userns-uidonly',
    about: 'a new user namespace with uid 0 mapped and no gid mapping, setgroups allowed (unshare -U --map-user=0): root inside, egid hidden',
    wrapper: ['unshare', '--user', '--map-user=0', '--'],
    unavailable: usernsUnavailable,
    optIn: true,
  },
  {
    name: 'userns-setgroups-deny',
    about: 'as userns-uidonly with /proc/self/setgroups "deny" (unshare -U --map-user=0 --setgroups=deny)',
    wrapper: ['unshare', '--user', '--map-user=0', '--setgroups=deny', '--'],
    unavailable: usernsUnavailable,
    optIn: true,
  },
  {
    name: 'unpriv-userns',
    about: 'a user namespace made by uid 65534 (setpriv, then unshare -U -r) on the host network: root inside, ids of the host hidden',
    wrapper: [...AS_NOBODY, '--inh-caps=-all', '--', 'unshare', '--user', '--map-root-user', '--'],
    unavailable: unprivUsernsUnavailable,
    optIn: true,
  },
  {
    name: 'unpriv-userns-net',
    about: 'a user and network namespace made by uid 65534 (setpriv, then unshare -U -r -n): the netns is owned by that user namespace',
    wrapper: [...AS_NOBODY, '--inh-caps=-all', '--', 'unshare', '--user', '--map-root-user', '--net', '--'],
    unavailable: unprivUsernsUnavailable,
    optIn: true,
  },
  {
    name: 'ambient-netraw',
    about: 'uid 65534 holding CAP_NET_RAW as its one ambient capability (setpriv --inh-caps=-all,+net_raw --ambient-caps=+net_raw)',
    wrapper: [...AS_NOBODY, '--inh-caps=-all,+net_raw', '--ambient-caps=+net_raw', '--'],
    unavailable: () => needs(true, 'setpriv')() ?? unreadableByOthers(PKG),
    optIn: true,
  },
  {
    name: 'netns-sysctl',
    about: 'a new network namespace whose ping_group_range ("0 2147483647") and net.mptcp.enabled (0) differ from the host\'s, set only inside it (unshare -n)',
    wrapper: ['unshare', '--net', '--'],
    unavailable: needs(true, 'unshare'),
    env: () => ({ SOCKBRIDGE_PARENT_NETNS: String(fs.statSync('/proc/self/ns/net').ino) }),
    optIn: true,
  },
];

let ia32Verdict: string | undefined;
/**
 * The 32-bit entries on an x86-64 kernel (issue 13): the i386 static probe through socket(2)
 * (#359) or socketcall(2) (#102). Where this kernel runs no 32-bit program (this project's own
 * host boots with IA-32 emulation off: execve of an i386 ELF is ENOEXEC) the variant says so; the
 * proof then runs in the x86-64 guests of `npm run test:kernels` (jobs ia32-socket and
 * ia32-socketcall: every case of the default matrix, both routes).
 */
function ia32Unavailable(): string {
  if (ia32Verdict !== undefined) return ia32Verdict;
  const { probePath } = require('../static-probe/build') as typeof import('../static-probe/build');
  const bin = probePath('i386');
  if (!fs.existsSync(bin)) {
    return (ia32Verdict = `the i386 static probe is not built (${bin}; npm run probe:build -- i386, with Debian's g++-i686-linux-gnu)`);
  }
  const r = cp().spawnSync(bin, ['--no-procnet'], { input: '', encoding: 'utf8', timeout: 10000 });
  const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
  // execvp() retries a file the kernel refuses with ENOEXEC as a shell script, so ENOEXEC shows as
  // /bin/sh choking on an ELF file ('Syntax error') rather than as an error code.
  const refused = code === 'ENOEXEC' || (!/"kind":"probe"/.test(r.stdout ?? '') && /Syntax error|not found|cannot execute/.test(r.stderr ?? ''));
  if (refused) {
    return (ia32Verdict = 'this kernel runs no 32-bit program (execve of the i386 probe: ENOEXEC, IA-32 emulation off); ' +
      'npm run test:kernels proves both 32-bit routes in its x86-64 guests');
  }
  if (r.error || r.status !== 0) return (ia32Verdict = `the i386 probe does not run here (${code ?? `exit ${r.status}`}: ${(r.stderr ?? '').trim().split('\n')[0]})`);
  return (ia32Verdict = 'this kernel runs 32-bit programs, but the sweep worker for the i386 probe is not written yet; npm run test:kernels ' +
    'proves both 32-bit routes inside its x86-64 guests (jobs ia32-socket, ia32-socketcall)');
}

VARIANTS.push(
  { name: 'ia32', about: 'a 32-bit (i386) process on this x86-64 kernel, socket(2) #359 through the compat entry (static probe)', wrapper: [], unavailable: ia32Unavailable },
  { name: 'ia32-socketcall', about: 'a 32-bit (i386) process, socketcall(SYS_SOCKET) #102 through __ia32_compat_sys_socketcall (static probe)', wrapper: [], unavailable: ia32Unavailable },
);

/** Named groups of variants for --variants. */
export const VARIANT_GROUPS: Record<string, string[]> = {
  namespaces: ['userns-nomap', 'userns-partial', 'userns-uidonly', 'userns-setgroups-deny', 'unpriv-userns', 'unpriv-userns-net', 'ambient-netraw', 'netns-sysctl'],
};

/** The sysctls netns-sysctl sets inside its own network namespace, and to what. */
export const NETNS_SYSCTLS: Array<[string, string]> = [
  ['/proc/sys/net/ipv4/ping_group_range', '0\t2147483647'],
  ['/proc/sys/net/mptcp/enabled', '0'],
];

/**
 * netns-sysctl's worker: write NETNS_SYSCTLS, but only after proving it runs in a network
 * namespace other than its parent's (so nothing of the host's changes). Throws otherwise.
 */
export function setNetnsSysctls(): string[] {
  const parent = process.env.SOCKBRIDGE_PARENT_NETNS;
  const mine = fs.statSync('/proc/self/ns/net').ino;
  if (!parent || !/^\d+$/.test(parent) || Number(parent) === mine) {
    throw new Error(`netns-sysctl: refusing to write sysctls: this worker's network namespace (inode ${mine}) is not a new one (parent's: ${parent ?? 'not given'})`);
  }
  const done: string[] = [];
  for (const [file, value] of NETNS_SYSCTLS) {
    try {
      fs.writeFileSync(file, value + '\n');
      done.push(`${file} = ${value.replace('\t', ' ')}`);
    } catch (e) {
      done.push(`${file}: not set (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  return done;
}

export function variantByName(name: string): VariantSpec | undefined {
  if (name.startsWith('seccomp:') && name.length > 8) {
    return { name, about: `OCI seccomp profile ${name.slice(8)} installed in the worker as runc installs it (libseccomp)`, wrapper: [], unavailable: libseccompMissing };
  }
  if (name.startsWith('restrict-af:') && name.length > 12) {
    return { name, about: `systemd RestrictAddressFamilies=${name.slice(12).replace(/\+/g, ' ')} installed in the worker as systemd installs it`, wrapper: [], unavailable: libseccompMissing };
  }
  if (/^rlimit=\d+$/.test(name)) {
    return { name, about: `RLIMIT_NOFILE soft limit ${name.slice(7)}`, wrapper: [], unavailable: () => null };
  }
  return VARIANTS.find((v) => v.name === name);
}

function libseccompMissing(): string | null {
  const { native } = require('../native') as typeof import('../native');
  const lib = native().seccompLibrary();
  return lib.error !== undefined ? `${lib.error}: install libseccomp2 (the runtime library runc and systemd use)` : null;
}

/** What a seccomp:FILE or restrict-af:LIST variant installs (null for other variants). */
export function variantPolicy(name: string, p: { options: Map<string, string[]> }): import('../host/seccomp').PolicySpec | null {
  const capsText = p.options.get('seccomp-caps')?.[0];
  const caps = capsText !== undefined ? (require('../cli/policy') as typeof import('../cli/policy')).parseCaps(capsText) : undefined;
  if (name.startsWith('seccomp:')) return { seccomp: [name.slice(8)], caps };
  if (name.startsWith('restrict-af:')) return { restrictFamilies: name.slice(12).replace(/\+/g, ' '), caps };
  return null;
}

export interface WorkerHandlers {
  /** A line of the worker's standard output (with onBytes: only its tally line). */
  onLine(line: string): void;
  /**
   * When set, every other line of standard output - the case, counters and profile lines of a
   * jsonl report - is handed on as the bytes the worker wrote, whole lines, in order: the parent
   * copies them into the report without decoding, splitting and encoding them again.
   */
  onBytes?(bytes: Buffer): void;
  onProgress(done: number): void;
  onStderr(text: string): void;
}

export interface Worker {
  done: Promise<number>;
  kill(sig: NodeJS.Signals): void;
  /**
   * A worker started with `held` waits before it reads anything of the host; this lets it go.
   * (A held worker that is never let go exits 0 without sweeping when it is killed or its stdin closes.)
   */
  go(): void;
}

/**
 * Start `sockbridge sweep --worker VARIANT <args>` under the variant's wrapper. With `held`,
 * the worker starts (node, its modules, its arguments) but waits with `--wait-go` until go():
 * the parent starts the next variant's worker while the current one sweeps, and lets it go
 * once that one is done, so it reads its host profile after every earlier variant's calls.
 */
export function spawnWorker(v: VariantSpec, args: string[], h: WorkerHandlers, held = false): Worker {
  const bin = path.resolve(__dirname, '..', '..', '..', 'bin', 'sockbridge.js');
  const argv = [...v.wrapper, process.execPath, bin, 'sweep', '--worker', v.name, ...(held ? ['--wait-go'] : []), ...args];
  const [cmd, ...rest] = argv;
  const resolved = cmd === process.execPath ? cmd : which(cmd) ?? cmd;
  const child = cp().spawn(resolved, rest, {
    stdio: [held ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: v.env ? { ...process.env, ...v.env() } : process.env,
  });
  const stdout = child.stdout!;
  const stderr = child.stderr!;
  if (held) child.stdin!.on('error', () => { /* the worker is gone: its exit status says why */ });
  let buf = '';
  const router = h.onBytes ? new WorkerStdout(h.onLine, h.onBytes) : null;
  if (router) {
    stdout.on('data', (chunk: Buffer) => router.push(chunk));
  } else {
    stdout.setEncoding('utf8');
    stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line) h.onLine(line);
      }
    });
  }
  let ebuf = '';
  stderr.setEncoding('utf8');
  stderr.on('data', (chunk: string) => {
    ebuf += chunk;
    let nl: number;
    while ((nl = ebuf.indexOf('\n')) >= 0) {
      const line = ebuf.slice(0, nl);
      ebuf = ebuf.slice(nl + 1);
      const m = /^@progress (\d+)$/.exec(line);
      if (m) h.onProgress(Number(m[1]));
      else h.onStderr(line + '\n');
    }
  });
  const done = new Promise<number>((resolve) => {
    child.on('error', (e) => { h.onStderr(`cannot start ${cmd}: ${e.message}\n`); resolve(127); });
    child.on('close', (code, signal) => {
      if (buf) h.onLine(buf);
      router?.end();
      if (ebuf) h.onStderr(ebuf);
      resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 1) : 1));
    });
  });
  let gone = false;
  return {
    done,
    kill: (sig) => { try { child.kill(sig); } catch { /* gone */ } },
    go: () => {
      if (!held || gone) return;
      gone = true;
      child.stdin!.end('go\n');
    },
  };
}

const NL = 0x0a;
const NL_NL = Buffer.from('\n\n');
const TALLY = Buffer.from('{"kind":"tally"');

/**
 * A worker's standard output as bytes: lines that start with {"kind":"tally" go to onLine as
 * strings, every other line to onBytes as the bytes that came (whole lines, newline included,
 * several at once, in order). Empty lines are dropped, as the string reader dropped them; a
 * last line with no newline gets one.
 */
export class WorkerStdout {
  private carry: Buffer | null = null;
  constructor(private readonly onLine: (line: string) => void, private readonly onBytes: (bytes: Buffer) => void) {}

  push(chunk: Buffer): void {
    const data = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    const last = data.lastIndexOf(NL);
    if (last < 0) { this.carry = Buffer.from(data); return; }
    // A copy: the stream may hand the same memory back for a later chunk.
    this.carry = last + 1 < data.length ? Buffer.from(data.subarray(last + 1)) : null;
    this.lines(data, last + 1);
  }

  end(): void {
    if (!this.carry) return;
    const rest = this.carry;
    this.carry = null;
    this.lines(Buffer.concat([rest, Buffer.from('\n')]), rest.length + 1);
  }

  /** data[0, end) is whole lines. */
  private lines(data: Buffer, end: number): void {
    let start = 0;
    let from = 0;
    for (;;) {
      const k = data.indexOf(TALLY, from);
      if (k < 0 || k >= end) break;
      if (k !== 0 && data[k - 1] !== NL) { from = k + 1; continue; }
      this.bytes(data, start, k);
      const e = data.indexOf(NL, k);
      this.onLine(data.toString('utf8', k, e));
      start = from = e + 1;
    }
    this.bytes(data, start, end);
  }

  private bytes(data: Buffer, start: number, end: number): void {
    // One slice for many lines; empty lines (the worker writes none) are dropped.
    let s = start;
    while (s < end) {
      if (data[s] === NL) { s++; continue; }
      const blank = data.indexOf(NL_NL, s);
      const stop = blank < 0 || blank + 1 >= end ? end : blank + 1;
      this.onBytes(data.subarray(s, stop));
      s = stop;
    }
  }
}

function signalNumber(s: NodeJS.Signals): number | undefined {
  return (require('os') as typeof import('os')).constants.signals[s];
}
