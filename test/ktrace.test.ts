/**
 * Kernel-side evidence (lib/ktrace): the tracepoint parser on text captured on this host,
 * the per-call alignment with hand-written and with model-predicted capability checks, and,
 * on the real kernel as root, a private trace instance that sees cap_capable granted (root)
 * or denied (every capability dropped) inside the raw-ish families and no check at all for
 * AF_UNIX and AF_NETLINK. Nothing may be left behind: no sockbridge-* instance, the global
 * tracing files as they were, tracefs mounted only if it was - also after a SIGINT.
 */
import * as assert from 'assert';
import { spawn, spawnSync, execFileSync, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { AF, CAP, IPPROTO, NETLINK, SOCK } from '../lib/abi/constants';
import { EACCES, EINVAL, EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../lib/abi/errno';
import {
  alignTrace, capCapableLayout, describeAgreement, explainObsoleteSockPacket, findObsoleteSockPacket,
  findTracefs, isUnavailable, mountsOf, obsoleteSockPacketLines, openKernelTrace, parseEventFormat,
  parseTrace, parseTraceLine, predictedCapsOf, sweepStaleInstances, tracedCalls,
  type KernelTrace, type PredictedCap, type TraceEvent,
} from '../lib/ktrace';
import type { HostProfile, SocketCase } from '../lib/types';

const FIX = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'trace');
const CHILD = path.resolve(__dirname, 'fixtures', 'trace', 'probe-child.js');
const fixture = (name: string): string => fs.readFileSync(path.join(FIX, name), 'utf8');

const SOCK_CLOEXEC = 0o2000000;
const NET_RAW = CAP.CAP_NET_RAW;
const NET_ADMIN = CAP.CAP_NET_ADMIN;

/** The calls of test/fixtures/trace/python-capture.py (python adds SOCK_CLOEXEC to every type). */
function pythonCalls(): SocketCase[] {
  return fixture('python-root-6.18.results.txt').trim().split('\n').map((l) => {
    const [d, t, p] = l.split(' ').map(Number);
    return { domain: d, type: t | SOCK_CLOEXEC, protocol: p };
  });
}

function pythonResults(mode: 'root' | 'dropped'): Array<{ errno: number; fd: number }> {
  return fixture(`python-${mode}-6.18.results.txt`).trim().split('\n').map((l) => {
    const f = l.split(' ');
    return f[3] === 'fd' ? { errno: 0, fd: Number(f[4]) } : { errno: Number(f[4]), fd: -1 };
  });
}

/**
 * What the kernel source says each python call checks, written by hand from the source
 * (the model road is tested separately below): inet/inet6_create check CAP_NET_RAW after
 * the protocol lookup, packet_create and xsk_create first; PF_INET+SOCK_PACKET becomes
 * packet_create; __vsock_create records ns_capable_noaudit(init, CAP_NET_ADMIN) as
 * vsk->trusted; unix, netlink, tcp and ping check nothing; flag errors stop before any check.
 */
function pythonExpectedCaps(granted: boolean): PredictedCap[][] {
  const raw = [{ cap: NET_RAW, granted }];
  return [
    raw, // AF_INET SOCK_RAW ICMP
    raw, // AF_INET6 SOCK_RAW ICMPV6
    raw, // AF_PACKET SOCK_RAW
    raw, // AF_INET SOCK_PACKET -> packet_create
    raw, // AF_XDP SOCK_RAW
    [], // AF_UNIX SOCK_STREAM
    [], // AF_NETLINK SOCK_RAW
    [], // AF_INET SOCK_STREAM
    [], // AF_INET SOCK_RAW 0: EPROTONOSUPPORT from the lookup, before the capability
    [], // AF_INET SOCK_DGRAM ICMP: ping_group_range, no capability
    [], // AF_PACKET type 99: EINVAL in __sys_socket (bits outside the mask)
    raw, // AF_XDP SOCK_STREAM: CAP_NET_RAW first, then ESOCKTNOSUPPORT (or EPERM)
    [{ cap: NET_ADMIN, granted }], // AF_VSOCK SOCK_STREAM
  ];
}

function kinds(events: TraceEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) out[e.kind] = (out[e.kind] ?? 0) + 1;
  return out;
}

describe('ktrace: parse tracepoint text captured on this host (6.18)', () => {
  it('reads sys_enter_socket, cap_capable and sys_exit_socket lines of the root capture', () => {
    const ev = parseTrace(fixture('python-root-6.18.txt'));
    assert.deepStrictEqual(kinds(ev), { enter: 13, exit: 13, cap: 7 });
    const first = ev[0];
    assert.strictEqual(first.kind, 'enter');
    if (first.kind !== 'enter') return;
    assert.deepStrictEqual([first.family, first.type, first.protocol], [AF.AF_INET, SOCK.SOCK_RAW | SOCK_CLOEXEC, 1]);
    assert.strictEqual(first.comm, 'python3.11');
    assert.ok(first.pid > 0 && first.cpu >= 0 && first.ts > 0);
    // 0xa, 0x3a, 0x300 in hex; 2 and 1 in decimal on 6.18: both read right.
    const second = ev[3];
    assert.ok(second.kind === 'enter' && second.family === AF.AF_INET6 && second.protocol === IPPROTO.IPPROTO_ICMPV6);
    const cap = ev[1];
    assert.ok(cap.kind === 'cap');
    if (cap.kind !== 'cap') return;
    assert.strictEqual(cap.cap, NET_RAW);
    assert.strictEqual(cap.ret, 0);
    assert.strictEqual(cap.granted, true);
    assert.deepStrictEqual(Object.keys(cap.fields), ['cred', 'target_ns', 'capable_ns', 'cap', 'ret']);
    const exits = ev.filter((e) => e.kind === 'exit').map((e) => (e.kind === 'exit' ? e.ret : 0));
    assert.deepStrictEqual(exits, pythonResults('root').map((r) => (r.errno ? -r.errno : r.fd)));
    assert.ok(exits.includes(-EPROTONOSUPPORT) && exits.includes(-EACCES) && exits.includes(-EINVAL) && exits.includes(-ESOCKTNOSUPPORT));
  });

  it('reads denied checks (ret -1, capable_ns NULL) from the capabilities-dropped capture', () => {
    const ev = parseTrace(fixture('python-dropped-6.18.txt'));
    const caps = ev.filter((e) => e.kind === 'cap');
    assert.strictEqual(caps.length, 7);
    for (const c of caps) {
      assert.ok(c.kind === 'cap' && c.ret === -EPERM && c.granted === false, c.raw);
      assert.ok(c.kind === 'cap' && /^0+$/.test(c.fields.capable_ns), 'capable_ns is NULL when denied');
    }
  });

  it('reads the event format files and sees cap and ret in cap_capable', () => {
    const f = parseEventFormat(fixture('cap_capable.format-6.18.txt'));
    assert.strictEqual(f.name, 'cap_capable');
    assert.deepStrictEqual(f.fields.filter((x) => !x.common).map((x) => `${x.name}:${x.offset}:${x.size}`),
      ['cred:8:8', 'target_ns:16:8', 'capable_ns:24:8', 'cap:32:4', 'ret:36:4']);
    assert.deepStrictEqual(capCapableLayout(f), { cap: true, ret: true, extra: ['cred', 'target_ns', 'capable_ns'] });
    const enter = parseEventFormat(fixture('sys_enter_socket.format-6.18.txt'));
    assert.deepStrictEqual(enter.fields.filter((x) => !x.common).map((x) => x.name), ['__syscall_nr', 'family', 'type', 'protocol']);
    assert.throws(() => parseEventFormat('hello'), /not a tracefs event format file/);
  });

  it('reads the other shapes: 0x-only syscall args, cap/ret-only and key=value cap_capable, record-tgid, no irq flags (constructed lines)', () => {
    const old = parseTraceLine('   node-77  [000] d..1  5.000001: sys_socket(family: 0x2, type: 0x3, protocol: 0xffffffff)');
    assert.ok(old && old.kind === 'enter' && old.family === 2 && old.type === 3 && old.protocol === -1);
    const tgid = parseTraceLine('  node-main-77 (   70) [001] .....  6.5: sys_socket -> 0xffffffffffffffff');
    assert.ok(tgid && tgid.kind === 'exit' && tgid.ret === -1 && tgid.comm === 'node-main' && tgid.pid === 77);
    const bare = parseTraceLine('node-77 [001] 6.5: cap_capable: cap 13, ret -1');
    assert.ok(bare && bare.kind === 'cap' && bare.cap === 13 && bare.granted === false);
    const kv = parseTraceLine('node-77 [001] 6.5: cap_capable: cap=12 ret=0 opts=0x2 audit=0');
    assert.ok(kv && kv.kind === 'cap' && kv.cap === 12 && kv.granted === true && kv.fields.opts === '0x2');
    const noRet = parseTraceLine('node-77 [001] 6.5: cap_capable: cap 21');
    assert.ok(noRet && noRet.kind === 'cap' && noRet.ret === null && noRet.granted === null);
    assert.throws(() => parseTraceLine('node-77 [001] 6.5: cap_capable: ret 0'), /without a "cap" field.*cap_capable: ret 0/);
    const other = parseTraceLine('node-77 [001] 6.5: sched_switch: prev_comm=node');
    assert.ok(other && other.kind === 'other' && other.name === 'sched_switch');
    assert.strictEqual(parseTraceLine('# tracer: nop'), null);
    const lost = parseTraceLine('CPU:1 [LOST 42 EVENTS]');
    assert.deepStrictEqual(lost && lost.kind === 'lost' ? [lost.cpu, lost.count] : null, [1, 42]);
    const header = parseTrace('# entries-in-buffer/entries-written: 10/25   #P:2\n');
    assert.deepStrictEqual(header.map((e) => e.kind === 'lost' && e.count), [15]);
  });
});

describe('ktrace: alignTrace', () => {
  const calls = pythonCalls();

  it('root capture: every call agrees with the hand-written checks (granted) and its result', () => {
    const steps = alignTrace(calls, pythonResults('root'), pythonExpectedCaps(true), parseTrace(fixture('python-root-6.18.txt')));
    for (const s of steps) assert.ok(s.agree, describeAgreement(s));
    assert.deepStrictEqual(steps.map((s) => s.caps.kernel.length), [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1]);
  });

  it('capabilities-dropped capture: every call agrees with the hand-written checks (denied)', () => {
    const steps = alignTrace(calls, pythonResults('dropped'), pythonExpectedCaps(false), parseTrace(fixture('python-dropped-6.18.txt')));
    for (const s of steps) assert.ok(s.agree, describeAgreement(s));
    assert.strictEqual(steps[0].exit.kernel, -EPERM);
  });

  it('tells granted from denied, a missing check from an extra one, and names them', () => {
    const ev = parseTrace(fixture('python-dropped-6.18.txt'));
    const wrong = pythonExpectedCaps(false);
    wrong[0] = [{ cap: NET_RAW, granted: true }];
    wrong[5] = [{ cap: NET_RAW, granted: true }];
    wrong[12] = [];
    const steps = alignTrace(calls, pythonResults('dropped'), wrong, ev);
    assert.strictEqual(steps[0].caps.agree, false);
    assert.match(steps[0].caps.diffs[0], /CAP_NET_RAW the model predicts granted, the kernel denied it/);
    assert.match(steps[5].caps.diffs[0], /the model predicts CAP_NET_RAW \(13\) granted; the kernel made no further check/);
    assert.match(steps[12].caps.diffs[0], /the kernel checked CAP_NET_ADMIN \(12\) denied; the model predicts no further check/);
    assert.strictEqual(steps.filter((s) => !s.agree).length, 3);
  });

  it('a different exit value or other arguments are disagreements', () => {
    const ev = parseTrace(fixture('python-root-6.18.txt'));
    const results = pythonResults('root');
    results[7] = { errno: 0, fd: 4 };
    const bad = calls.slice();
    bad[12] = { domain: AF.AF_VSOCK, type: SOCK.SOCK_DGRAM | SOCK_CLOEXEC, protocol: 0 };
    const steps = alignTrace(bad, results, pythonExpectedCaps(true), ev);
    assert.strictEqual(steps[7].exit.agree, false);
    assert.strictEqual(steps[7].exit.kernel, 3);
    assert.strictEqual(steps[12].found, true);
    assert.strictEqual(steps[12].enter.agree, false);
    assert.match(steps[12].notes[0], /the kernel received socket\(40, 524289, 0\) where the call was socket\(40, 524290, 0\)/);
  });

  it('skips socket() calls and capability checks of the same thread that are not the calls', () => {
    const text = fixture('python-root-6.18.txt').split('\n');
    const at = text.findIndex((l) => l.includes('sys_socket(family: 1,'));
    const unrelated = [
      '      python3.11-1    [001] .....   356.0: cap_capable: cred 0, target_ns 0, capable_ns 0, cap 21, ret 0',
      '      python3.11-1    [001] .....   356.0: sys_socket(family: 0x2, type: 0x2, protocol: 0)',
      '      python3.11-1    [001] .....   356.0: sys_socket -> 0x5',
      '      python3.11-1    [001] .....   356.0: cap_capable: cred 0, target_ns 0, capable_ns 0, cap 1, ret 0',
    ];
    text.splice(at, 0, ...unrelated);
    const ev = parseTrace(text.join('\n'));
    assert.strictEqual(tracedCalls(ev).capsOutside, 2);
    const steps = alignTrace(calls, pythonResults('root'), pythonExpectedCaps(true), ev);
    for (const s of steps) assert.ok(s.agree, describeAgreement(s));
    assert.strictEqual(steps[5].skippedBefore, 1);
  });

  it('lost events, an untraced cap_capable and a call absent from the trace are not agreements', () => {
    const text = fixture('python-root-6.18.txt').split('\n');
    const at = text.findIndex((l) => l.includes('sys_socket(family: 0xa,'));
    text.splice(at + 1, 1, 'CPU:1 [LOST 3 EVENTS]'); // the cap_capable of the raw6 call is gone
    const ev = parseTrace(text.join('\n'));
    const steps = alignTrace(calls, pythonResults('root'), pythonExpectedCaps(true), ev);
    assert.strictEqual(steps[1].caps.agree, false);
    assert.ok(steps[1].notes.some((n) => /lost events/.test(n)));
    assert.ok(steps[0].agree && steps[2].agree);

    const noCap = parseTrace(fixture('python-root-6.18.txt')).filter((e) => e.kind !== 'cap');
    const s2 = alignTrace(calls, pythonResults('root'), pythonExpectedCaps(true), noCap, { capTraced: false });
    assert.ok(s2.every((s) => s.caps.agree === null && !s.agree && s.exit.agree));

    const extra = alignTrace([...calls, { domain: 1, type: 2, protocol: 0 }], [...pythonResults('root'), { errno: 0, fd: 3 }],
      [...pythonExpectedCaps(true), []], parseTrace(fixture('python-root-6.18.txt')));
    assert.strictEqual(extra[13].found, false);
    assert.strictEqual(extra[13].agree, false);
  });

  it('rejects inputs of different lengths, naming both', () => {
    assert.throws(() => alignTrace(calls, [], pythonExpectedCaps(true), []), /results has 0 entries, calls has 13/);
    assert.throws(() => alignTrace(calls, pythonResults('root'), [], []), /predictedCaps has 0 entries, calls has 13/);
  });

  it('predictedCapsOf takes the cap steps of a prediction in order', () => {
    const caps = predictedCapsOf({ trace: [
      { fn: '__sock_create', what: 'x', outcome: 'pass' },
      { fn: 'ns_capable', what: 'y', outcome: 'fail', cap: { cap: 13, granted: false, userns: 'netns-owner' } },
      { fn: 'capable', what: 'z', outcome: 'pass', cap: { cap: 21, granted: true, userns: 'init' } },
    ] });
    assert.deepStrictEqual(caps, [{ cap: 13, granted: false }, { cap: 21, granted: true }]);
  });
});

describe('ktrace: kernel log and mounts (pure)', () => {
  it('finds the obsolete (PF_INET,SOCK_PACKET) line in /dev/kmsg records and dmesg text', () => {
    const kmsg = '6,337,340000000,-;other\n6,338,340248798,-;python3 uses obsolete (PF_INET,SOCK_PACKET)\n';
    assert.deepStrictEqual(findObsoleteSockPacket(kmsg).map((l) => [l.comm, l.uptime]), [['python3', 340.248798]]);
    const dm = '[  340.248798] python3 uses obsolete (PF_INET,SOCK_PACKET)\n';
    assert.deepStrictEqual(findObsoleteSockPacket(dm).map((l) => [l.comm, l.uptime]), [['python3', 340.248798]]);
    const line = findObsoleteSockPacket(dm);
    assert.match(explainObsoleteSockPacket([], line), /printed during this run/);
    assert.match(explainObsoleteSockPacket(line, line), /already printed in this boot \(by python3 at 340\.249 s\).*once per boot/);
    assert.match(explainObsoleteSockPacket([], []), /once per boot.*not a mismatch/);
  });

  it('finds tracefs in /proc/mounts text, preferring /sys/kernel/tracing', () => {
    const m = 'sysfs /sys sysfs rw 0 0\ntracefs /sys/kernel/debug/tracing tracefs rw 0 0\ntracefs /sys/kernel/tracing tracefs rw 0 0\n';
    assert.deepStrictEqual(mountsOf(m).tracefs, ['/sys/kernel/debug/tracing', '/sys/kernel/tracing']);
    assert.strictEqual(findTracefs(m), '/sys/kernel/tracing');
    assert.strictEqual(findTracefs('tracefs /mnt/my\\040trace tracefs rw 0 0\n'), '/mnt/my trace');
    assert.strictEqual(findTracefs('sysfs /sys sysfs rw 0 0\n'), null);
  });

  it('openKernelTrace names a bad option before touching anything', () => {
    assert.throws(() => openKernelTrace({ pid: -3 }), /pid must be a positive integer, got -3/);
    assert.throws(() => openKernelTrace({ bufferKb: 1 }), /bufferKb must be an integer from 4 to 1048576 \(KiB per CPU\), got 1/);
  });
});

// ---------------------------------------------------------------------------
// The real kernel.
// ---------------------------------------------------------------------------

/** The global tracing state that must be the same after the tests as before. */
interface GlobalState {
  mounts: string[];
  files: Record<string, string>;
  instances: string[];
}

const GLOBAL_FILES = ['tracing_on', 'current_tracer', 'set_event', 'set_event_pid', 'trace_clock', 'buffer_size_kb',
  'events/enable', 'events/syscalls/enable', 'events/capability/enable'];

/**
 * Read the global state through a tracefs mount of our own inside a private mount namespace
 * (unshare -m): it shows the same tracing state, and no other process can see or use it, so
 * reading the state changes nothing (not even the list of tracefs mount points).
 */
function globalState(): GlobalState {
  const mounts = mountsOf(fs.readFileSync('/proc/mounts', 'utf8')).tracefs.sort();
  const script = `
    const fs = require('fs'), path = require('path'), os = require('os'), cp = require('child_process');
    const files = ${JSON.stringify(GLOBAL_FILES)};
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrace-state-'));
    try {
      cp.execFileSync('mount', ['-t', 'tracefs', 'nodev', d], { stdio: 'pipe' });
      try {
        const out = {};
        for (const f of files) {
          try { out[f] = fs.readFileSync(path.join(d, f), 'utf8'); } catch (e) { out[f] = 'unreadable: ' + e.message; }
        }
        const instances = fs.readdirSync(path.join(d, 'instances')).sort();
        process.stdout.write(JSON.stringify({ files: out, instances }));
      } finally {
        cp.execFileSync('umount', [d], { stdio: 'pipe' });
      }
    } finally {
      fs.rmdirSync(d);
    }`;
  const out = execFileSync('unshare', ['--mount', '--propagation', 'private', process.execPath, '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const { files, instances } = JSON.parse(out) as { files: Record<string, string>; instances: string[] };
  return { mounts, files, instances };
}

/**
 * Run a node script in a private mount namespace where tracefs is not mounted (unmounting the
 * namespace's copies touches nothing outside it). The script sees fs, cp (child_process) and
 * k (lib/ktrace); returns its stdout.
 */
function inPrivateMountNs(body: string): string {
  const lib = path.resolve(__dirname, '..', 'lib', 'ktrace');
  const script = `
    const fs = require('fs'), cp = require('child_process'), k = require(${JSON.stringify(lib)});
    for (const m of k.mountsOf(fs.readFileSync('/proc/mounts', 'utf8')).tracefs.reverse()) cp.execFileSync('umount', [m]);
    ${body}`;
  return execFileSync('unshare', ['--mount', '--propagation', 'private', process.execPath, '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

/** Pids of other processes running code of this project tree (another test run, a sweep), not our ancestors. */
function otherProjectProcesses(): number[] {
  const root = path.resolve(__dirname, '..', '..');
  const mine = new Set<number>([process.pid]);
  for (let p = process.ppid; p > 1 && !mine.has(p);) {
    mine.add(p);
    try {
      const st = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      p = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || mine.has(Number(d))) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes(root)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** A sockbridge instance of another process that is still running. */
function foreignLive(name: string): boolean {
  const m = /^sockbridge-(\d+)-/.exec(name);
  if (!m || Number(m[1]) === process.pid) return false;
  try {
    process.kill(Number(m[1]), 0);
    return true;
  } catch {
    return false;
  }
}

function sockbridgeInstances(): string[] {
  return globalState().instances.filter((n) => n.startsWith('sockbridge-'));
}

/** Why the live tests cannot run here, or null. */
function liveUnavailableReason(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.geteuid?.() !== 0) return `not root (euid ${process.geteuid?.()}): tracefs instances need root`;
  if (findTracefs() === null && !fs.existsSync('/sys/kernel/tracing')) return 'no tracefs: not mounted and /sys/kernel/tracing does not exist';
  if (spawnSync('unshare', ['--version']).error) return 'unshare(1) is not installed: the tests read the global tracing state through a private mount namespace';
  try {
    require('../lib/native').native();
  } catch (e) {
    return `the addon is not built: ${(e as Error).message.split('\n')[0]}`;
  }
  const t = openKernelTrace();
  if (isUnavailable(t)) return `kernel tracing unavailable: ${t.unavailable}`;
  const missing = t.missing;
  t.close();
  if (missing.length) return `this kernel lacks ${missing.join(', ')}`;
  return null;
}

function skipWith(ctx: Mocha.Context, why: string): never {
  // eslint-disable-next-line no-console
  console.log(`      pending: ${why}`);
  ctx.skip();
}

/** The in-kernel checks that matter: the families of the done-when list. */
const LIVE_CASES: Array<{ name: string; c: SocketCase; checks: number[] }> = [
  { name: 'AF_INET SOCK_RAW ICMP', c: { domain: AF.AF_INET, type: SOCK.SOCK_RAW, protocol: IPPROTO.IPPROTO_ICMP }, checks: [NET_RAW] },
  { name: 'AF_INET6 SOCK_RAW ICMPV6', c: { domain: AF.AF_INET6, type: SOCK.SOCK_RAW, protocol: IPPROTO.IPPROTO_ICMPV6 }, checks: [NET_RAW] },
  // Protocol 0: no receive hook is registered (packet_create only hooks protocol != 0).
  { name: 'AF_PACKET SOCK_RAW 0', c: { domain: AF.AF_PACKET, type: SOCK.SOCK_RAW, protocol: 0 }, checks: [NET_RAW] },
  { name: 'AF_INET SOCK_PACKET 0', c: { domain: AF.AF_INET, type: SOCK.SOCK_PACKET, protocol: 0 }, checks: [NET_RAW] },
  { name: 'AF_XDP SOCK_RAW 0', c: { domain: AF.AF_XDP, type: SOCK.SOCK_RAW, protocol: 0 }, checks: [NET_RAW] },
  { name: 'AF_UNIX SOCK_STREAM', c: { domain: AF.AF_UNIX, type: SOCK.SOCK_STREAM, protocol: 0 }, checks: [] },
  { name: 'AF_UNIX SOCK_DGRAM', c: { domain: AF.AF_UNIX, type: SOCK.SOCK_DGRAM | SOCK_CLOEXEC, protocol: 0 }, checks: [] },
  { name: 'AF_NETLINK SOCK_RAW ROUTE', c: { domain: AF.AF_NETLINK, type: SOCK.SOCK_RAW, protocol: NETLINK.NETLINK_ROUTE }, checks: [] },
  { name: 'AF_NETLINK SOCK_DGRAM GENERIC', c: { domain: AF.AF_NETLINK, type: SOCK.SOCK_DGRAM, protocol: NETLINK.NETLINK_GENERIC }, checks: [] },
];
/** Outside the done-when list: what the kernel does and the model should say. */
const VSOCK_CASE: SocketCase = { domain: AF.AF_VSOCK, type: SOCK.SOCK_STREAM, protocol: 0 };

function probeHere(cases: SocketCase[]): Array<{ errno: number; fd: number }> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { native } = require('../lib/native') as typeof import('../lib/native');
  const n = cases.length;
  const d = new Int32Array(n); const t = new Int32Array(n); const p = new Int32Array(n);
  cases.forEach((c, i) => { d[i] = c.domain; t[i] = c.type; p[i] = c.protocol; });
  const r = native().probeBatch(d, t, p, { close: 'now' });
  return cases.map((_c, i) => ({ errno: r.errno[i], fd: r.fd[i] }));
}

function predictAll(profile: HostProfile, cases: SocketCase[]): PredictedCap[][] {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { KernelModel } = require('../lib/kernel') as typeof import('../lib/kernel');
  const model = new KernelModel(profile);
  return cases.map((c) => predictedCapsOf(model.predict(c)));
}

function liveProfile(): HostProfile {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { gatherHostProfile } = require('../lib/host') as typeof import('../lib/host');
  return gatherHostProfile({ takenOn: 'ktrace test' });
}

/** Read lines from a child's stdout until `pred` matches one. */
function waitLine(child: ChildProcess, pred: (l: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        if (pred(l)) { child.stdout!.off('data', onData); resolve(l); return; }
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code, sig) => reject(new Error(`child exited (code ${code}, signal ${sig}) before the expected line`)));
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

const SETPRIV = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--'];

/** Run cases in a capabilities-dropped child, traced by this (root) process. */
async function runDropped(cases: SocketCase[]): Promise<{ results: Array<{ errno: number; fd: number }>; profile: HostProfile; events: TraceEvent[]; trace: KernelTrace }> {
  const child = spawn(SETPRIV[0], [...SETPRIV.slice(1), process.execPath, CHILD, 'cases', JSON.stringify(cases)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let trace: KernelTrace | null = null;
  try {
    const ready = await waitLine(child, (l) => l.startsWith('ready '));
    const pid = Number(ready.split(' ')[1]);
    const t = openKernelTrace({ pid });
    if (isUnavailable(t)) throw new Error(t.unavailable);
    trace = t;
    const out = waitLine(child, (l) => l.startsWith('{'));
    child.stdin!.write('go\n');
    const { results, profile } = JSON.parse(await out) as { results: Array<{ errno: number; fd: number }>; profile: HostProfile };
    await exited(child);
    const events = t.collect();
    return { results, profile, events, trace: t };
  } catch (e) {
    trace?.close();
    child.kill('SIGKILL');
    throw e;
  }
}

describe('ktrace: on this kernel', function () {
  let snapshot: GlobalState | null = null;
  let why: string | null = null;

  before(function () {
    why = liveUnavailableReason();
    if (why === null) snapshot = globalState();
  });

  beforeEach(function () {
    if (why !== null) skipWith(this, why);
  });

  after(function () {
    if (snapshot === null) return;
    const now = globalState();
    // Instances of other live processes (other people's runs on this machine) are theirs;
    // an instance of this process or of a dead one is a leak.
    assert.deepStrictEqual(now.instances.filter((n) => n.startsWith('sockbridge-') && !foreignLive(n)), [], 'a sockbridge trace instance remains');
    const others = [...snapshot.instances, ...now.instances].filter(foreignLive);
    const busy = otherProjectProcesses();
    const strip = (g: GlobalState): GlobalState => ({ ...g, instances: g.instances.filter((n) => !foreignLive(n)) });
    if (others.length > 0 || busy.length > 0) {
      // eslint-disable-next-line no-console
      console.log(`      note: other processes of this project run at the same time (${[...others, ...busy.map((b) => `pid ${b}`)].join(', ')}): the tracefs mount state may be theirs and is not compared here (the private-mount-namespace tests cover it)`);
      assert.deepStrictEqual({ ...strip(now), mounts: [] }, { ...strip(snapshot), mounts: [] }, 'the global tracing state changed');
    } else {
      assert.deepStrictEqual(now, snapshot, 'the global tracing state changed');
    }
  });

  it('as root: CAP_NET_RAW granted inside INET/INET6 raw, PACKET, INET SOCK_PACKET, XDP; no check for UNIX and NETLINK', function () {
    const t = openKernelTrace();
    assert.ok(!isUnavailable(t), isUnavailable(t) ? t.unavailable : '');
    if (isUnavailable(t)) return;
    try {
      assert.ok(fs.existsSync(t.dir), `${t.dir} exists while tracing`);
      assert.match(t.name, /^sockbridge-\d+-[0-9a-f]+(-m)?$/);
      assert.strictEqual(fs.readFileSync(path.join(t.dir, 'set_event_pid'), 'utf8').trim(), String(process.pid));
      t.collect();
      const cases = LIVE_CASES.map((k) => k.c);
      const results = probeHere(cases);
      const events = t.collect();
      assert.ok(results.every((r) => r.errno === 0), `all succeed as root: ${JSON.stringify(results)}`);
      const steps = alignTrace(cases, results, LIVE_CASES.map((k) => k.checks.map((cap) => ({ cap, granted: true }))), events,
        { capTraced: t.capTraced, capHasRet: t.capHasRet });
      for (const s of steps) assert.ok(s.agree, describeAgreement(s));
      assert.deepStrictEqual(steps.map((s) => s.caps.kernel.length), LIVE_CASES.map((k) => k.checks.length));
    } finally {
      assert.deepStrictEqual(t.close(), []);
    }
    assert.ok(!fs.existsSync(t.dir), `${t.dir} is removed by close()`);
  });

  it('as root: the model\'s predicted capability checks equal the kernel\'s, call by call', function () {
    const profile = liveProfile();
    const cases = LIVE_CASES.map((k) => k.c);
    const predicted = predictAll(profile, cases);
    const t = openKernelTrace();
    if (isUnavailable(t)) throw new Error(t.unavailable);
    try {
      t.collect();
      const results = probeHere(cases);
      const steps = alignTrace(cases, results, predicted, t.collect(), { capTraced: t.capTraced, capHasRet: t.capHasRet });
      for (const s of steps) assert.ok(s.agree, describeAgreement(s));
    } finally {
      t.close();
    }
  });

  it('capabilities dropped (setpriv child): CAP_NET_RAW denied, EPERM; no check for UNIX and NETLINK; the model agrees', async function () {
    if (!fs.existsSync('/usr/bin/setpriv') && spawnSync('setpriv', ['--version']).error) skipWith(this, 'setpriv(1) is not installed');
    const cases = LIVE_CASES.map((k) => k.c);
    const { results, profile, events, trace } = await runDropped(cases);
    try {
      const hand = alignTrace(cases, results, LIVE_CASES.map((k) => k.checks.map((cap) => ({ cap, granted: false }))), events,
        { capTraced: trace.capTraced, capHasRet: trace.capHasRet });
      for (const s of hand) assert.ok(s.agree, describeAgreement(s));
      LIVE_CASES.forEach((k, i) => assert.strictEqual(results[i].errno, k.checks.length ? EPERM : 0, k.name));
      const model = alignTrace(cases, results, predictAll(profile, cases), events, { capTraced: trace.capTraced, capHasRet: trace.capHasRet });
      for (const s of model) assert.ok(s.agree, `model: ${describeAgreement(s)}`);
    } finally {
      assert.deepStrictEqual(trace.close(), []);
    }
  });

  it('AF_VSOCK SOCK_STREAM: the kernel checks CAP_NET_ADMIN (__vsock_create, vsk->trusted) without deciding the result', async function () {
    const t = openKernelTrace();
    if (isUnavailable(t)) throw new Error(t.unavailable);
    let rootSteps;
    try {
      t.collect();
      const results = probeHere([VSOCK_CASE]);
      if (results[0].errno !== 0) skipWith(this, `AF_VSOCK SOCK_STREAM fails here (errno ${results[0].errno}): no vsock to look at`);
      rootSteps = alignTrace([VSOCK_CASE], results, [[{ cap: NET_ADMIN, granted: true }]], t.collect());
    } finally {
      t.close();
    }
    assert.ok(rootSteps[0].agree, describeAgreement(rootSteps[0]));
    const dropped = await runDropped([VSOCK_CASE]);
    try {
      assert.strictEqual(dropped.results[0].errno, 0, 'created without CAP_NET_ADMIN: the check does not decide');
      const s = alignTrace([VSOCK_CASE], dropped.results, [[{ cap: NET_ADMIN, granted: false }]], dropped.events)[0];
      assert.ok(s.agree, describeAgreement(s));
      const m = alignTrace([VSOCK_CASE], dropped.results, predictAll(dropped.profile, [VSOCK_CASE]), dropped.events)[0];
      assert.ok(m.caps.agree, `the model's checks: ${describeAgreement(m)}`);
    } finally {
      dropped.trace.close();
    }
  });

  it('PF_INET + SOCK_PACKET: the kernel log line is printed at most once per boot', function () {
    const beforeLines = obsoleteSockPacketLines();
    if ('unavailable' in beforeLines) skipWith(this, beforeLines.unavailable);
    const r = probeHere([{ domain: AF.AF_INET, type: SOCK.SOCK_PACKET, protocol: 0 }]);
    assert.strictEqual(r[0].errno, 0);
    const after = obsoleteSockPacketLines();
    assert.ok(!('unavailable' in after));
    if ('unavailable' in after) return;
    if (beforeLines.length > 0) {
      assert.strictEqual(after.length, beforeLines.length, 'no second line in the same boot');
      assert.match(explainObsoleteSockPacket(beforeLines, after), /already printed in this boot/);
    } else {
      // First in this boot (or rotated out): now it is there, named after this process, or it was printed long ago.
      assert.ok(after.length <= 1, 'at most one line');
      assert.match(explainObsoleteSockPacket(beforeLines, after), /printed during this run|once per boot/);
    }
  });

  it('SIGINT in the middle of a traced loop removes the instance (and the child dies of SIGINT)', async function () {
    const child = spawn(process.execPath, [CHILD, 'loop'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await waitLine(child, (l) => l.startsWith('tracing ') || l.startsWith('unavailable '));
    assert.ok(line.startsWith('tracing '), line);
    const dir = line.slice('tracing '.length);
    assert.ok(fs.existsSync(dir), `${dir} exists while the child traces`);
    child.kill('SIGINT');
    const end = await exited(child);
    assert.strictEqual(end.signal, 'SIGINT', `child ended with ${JSON.stringify(end)}`);
    assert.ok(!fs.existsSync(dir), `${dir} was removed on SIGINT`);
    assert.deepStrictEqual(sockbridgeInstances().filter((n) => !foreignLive(n)), []);
  });

  it('sockbridge sweep --kernel-trace killed with SIGINT: exit 130, no instance left', async function () {
    this.timeout(300000);
    const bin = path.resolve(__dirname, '..', '..', 'bin', 'sockbridge.js');
    if (!fs.existsSync(bin)) skipWith(this, `${bin} does not exist (the CLI is not there yet)`);
    // Three million random cases take minutes, so the signal always lands mid-sweep.
    const child = spawn(process.execPath, [bin, 'sweep', '--kernel-trace', '--variants', 'self', '--random', '3000000', '--no-progress'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const already = new Set(sockbridgeInstances());
    let seen: string[] = [];
    for (let i = 0; i < 600 && seen.length === 0 && child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 50));
      seen = sockbridgeInstances().filter((n) => !already.has(n));
    }
    assert.ok(seen.length > 0, `the sweep opened a trace instance (stderr: ${stderr})`);
    child.kill('SIGINT');
    const end = await exited(child);
    assert.ok(end.code === 130 || end.signal === 'SIGINT', `sweep ended with ${JSON.stringify(end)}; stderr: ${stderr}`);
    const left = sockbridgeInstances();
    // Other runs on this machine may have opened instances meanwhile: theirs are alive.
    assert.deepStrictEqual(seen.filter((n) => left.includes(n) && !foreignLive(n)), [], 'the sweep\'s instance is gone');
    assert.deepStrictEqual(left.filter((n) => !foreignLive(n)), []);
  });

  it('a process that ends without close() removes its instance on exit', async function () {
    const child = spawn(process.execPath, [CHILD, 'forget'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await waitLine(child, (l) => l.startsWith('tracing ') || l.startsWith('unavailable '));
    assert.ok(line.startsWith('tracing '), line);
    const end = await exited(child);
    assert.strictEqual(end.code, 0);
    assert.ok(!fs.existsSync(line.slice('tracing '.length)), 'removed by the exit handler');
  });

  it('SIGTERM does the same', async function () {
    const child = spawn(process.execPath, [CHILD, 'loop'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await waitLine(child, (l) => l.startsWith('tracing '));
    const dir = line.slice('tracing '.length);
    child.kill('SIGTERM');
    const end = await exited(child);
    assert.strictEqual(end.signal, 'SIGTERM');
    assert.ok(!fs.existsSync(dir));
  });

  it('an instance left by a SIGKILLed process is swept by the next open', async function () {
    const child = spawn(process.execPath, [CHILD, 'loop'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await waitLine(child, (l) => l.startsWith('tracing '));
    const dir = line.slice('tracing '.length);
    child.kill('SIGKILL');
    await exited(child);
    assert.ok(fs.existsSync(dir), 'SIGKILL leaves the instance (nothing can run)');
    const t = openKernelTrace();
    if (isUnavailable(t)) throw new Error(t.unavailable);
    try {
      assert.deepStrictEqual(t.swept, [path.basename(dir)]);
      assert.ok(!fs.existsSync(dir));
    } finally {
      t.close();
    }
    // The sweeper leaves live owners alone: our own instance is not stale.
    const t2 = openKernelTrace();
    if (isUnavailable(t2)) throw new Error(t2.unavailable);
    try {
      const again = sweepStaleInstances(t2.tracefs);
      assert.deepStrictEqual(again.removed, []);
      assert.ok(fs.existsSync(t2.dir));
    } finally {
      t2.close();
    }
  });

  it('an overflowing ring buffer shows as lost events, and no call whose events were lost counts as agreeing', function () {
    const t = openKernelTrace({ bufferKb: 4 });
    if (isUnavailable(t)) throw new Error(t.unavailable);
    try {
      t.collect();
      const cases = Array.from({ length: 3000 }, (): SocketCase => ({ domain: AF.AF_INET, type: SOCK.SOCK_RAW, protocol: IPPROTO.IPPROTO_ICMP }));
      const results = probeHere(cases);
      const events = t.collect();
      const lost = events.filter((e) => e.kind === 'lost');
      assert.ok(lost.length > 0, `a 4 KiB buffer cannot hold ${cases.length * 3} events: the kernel must say it lost some`);
      const steps = alignTrace(cases, results, cases.map(() => [{ cap: NET_RAW, granted: true }]), events);
      const notFound = steps.filter((s) => !s.found);
      assert.ok(notFound.length > 0 && notFound.every((s) => !s.agree));
      for (const s of steps.filter((x) => x.agree)) assert.ok(s.caps.kernel.length === 1 && !s.notes.some((n) => /lost/.test(n)), describeAgreement(s));
    } finally {
      t.close();
    }
  });

  // The mount state is shared with everyone on the machine (another run of this suite, a
  // sweep): the tests of the duty to unmount run in a private mount namespace where tracefs
  // starts unmounted, so their mount assertions are about their own processes only.
  it('two traces at once: the last one to close unmounts tracefs, which sockbridge mounted', function () {
    const r = JSON.parse(inPrivateMountNs(`
      const a = k.openKernelTrace();
      const b = k.openKernelTrace();
      if (k.isUnavailable(a) || k.isUnavailable(b)) throw new Error(JSON.stringify([a, b]));
      const r = { a: [a.mountedByUs, a.name], b: [b.mountedByUs, b.name] };
      r.closeA = a.close();
      r.mountedAfterA = k.findTracefs() !== null;
      r.bExists = fs.existsSync(b.dir);
      r.closeB = b.close();
      r.mountedAfterB = k.findTracefs() !== null;
      process.stdout.write(JSON.stringify(r));`)) as { a: [boolean, string]; b: [boolean, string]; closeA: string[]; closeB: string[]; mountedAfterA: boolean; mountedAfterB: boolean; bExists: boolean };
    assert.ok(r.a[0] && r.a[1].endsWith('-m'), `the first trace mounted tracefs: ${r.a}`);
    assert.ok(r.b[0] && r.b[1].endsWith('-m'), `the second trace shares the duty to unmount: ${r.b}`);
    assert.deepStrictEqual(r.closeA, []);
    assert.ok(r.mountedAfterA && r.bExists, 'still mounted while the second trace is open');
    assert.deepStrictEqual(r.closeB, []);
    assert.strictEqual(r.mountedAfterB, false, 'the last one unmounted it');
  });

  it('processes opening and closing traces at the same time leave no instance, and tracefs unmounted as it was', function () {
    const inner = `
      const k = require(${JSON.stringify(path.resolve(__dirname, '..', 'lib', 'ktrace'))});
      const problems = [];
      for (let i = 0; i < 8; i++) {
        const t = k.openKernelTrace({ bufferKb: 64 });
        if (k.isUnavailable(t)) { problems.push('unavailable: ' + t.unavailable); continue; }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, (i * 7 + process.pid) % 9);
        t.collect();
        problems.push(...t.close());
      }
      process.stdout.write(JSON.stringify(problems));`;
    const r = JSON.parse(inPrivateMountNs(`
      const kids = Array.from({ length: 3 }, () => cp.spawn(process.execPath, ['-e', ${JSON.stringify(inner)}], { stdio: ['ignore', 'pipe', 'inherit'] }));
      Promise.all(kids.map((c) => new Promise((resolve) => {
        let o = '';
        c.stdout.on('data', (d) => { o += d; });
        c.once('close', () => resolve(o));
      }))).then((outs) => {
        process.stdout.write(JSON.stringify({ problems: outs.map((o) => JSON.parse(o)), mounted: k.findTracefs() !== null }));
      });`)) as { problems: string[][]; mounted: boolean };
    for (const p of r.problems) assert.deepStrictEqual(p, []);
    assert.strictEqual(r.mounted, false, 'the last to close unmounted tracefs');
    assert.deepStrictEqual(sockbridgeInstances().filter((n) => !foreignLive(n)), []);
  });

  it('in a child pid namespace it says why it cannot trace, and creates nothing', function () {
    const lib = path.resolve(__dirname, '..', 'lib', 'ktrace');
    const script = `const t = require(${JSON.stringify(lib)}).openKernelTrace(); process.stdout.write(JSON.stringify(t.unavailable ?? t.dir)); if (t.close) t.close();`;
    const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, '-e', script], { encoding: 'utf8' });
    if (r.error || r.status !== 0) skipWith(this, `unshare --pid failed here: ${r.error?.message ?? r.stderr}`);
    assert.match(JSON.parse(r.stdout) as string, /child pid namespace \(pid:\[\d+\]\).*initial pid namespace/);
  });

  it('close() is idempotent and collect() after close names the instance', function () {
    const t = openKernelTrace();
    if (isUnavailable(t)) throw new Error(t.unavailable);
    assert.deepStrictEqual(t.close(), []);
    assert.deepStrictEqual(t.close(), []);
    assert.throws(() => t.collect(), new RegExp(`kernel trace ${t.name} is closed`));
  });
});
