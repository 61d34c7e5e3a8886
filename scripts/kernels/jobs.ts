/**
 * What the guest runs, and what the host makes of it afterwards.
 */
import * as fs from 'fs';
import * as path from 'path';
import { InfraError } from './apt';
import type { GuestJob } from './initramfs';
import type { KernelOutcome } from './summary';
import { familyCoverage, liveAgreement, loadGuestProfile, loadModelLib, offlineAgreement, parseSweepJsonl } from './offline';
import { callName, domainName } from '../../lib/abi/names';
import { ABIS } from '../../lib/abi/arch';
import { parseProbeOutput } from '../../lib/static-probe/run';
import { replay } from './static-guest';

const CLI = 'node bin/sockbridge.js';

/** Whether the built package has the sweep command (the guest jobs need it). */
export function sweepAvailable(root: string): boolean {
  const main = path.join(root, 'dist', 'lib', 'cli', 'main.js');
  if (!fs.existsSync(main)) return false;
  return /\bsweep\b/.test(fs.readFileSync(main, 'utf8')) && fs.existsSync(path.join(root, 'dist', 'lib', 'cli', 'sweep.js'));
}

/**
 * The calibration job: socket() cost through request_module for a family with a module
 * (AppleTalk, 5), with none anywhere (AF_WANPIPE, 25), with several candidate modules some of
 * which fail (AF_VSOCK, 40), and a built-in one for scale.
 */
export const CALIBRATION_FAMILIES = '5,25,40,38';

/**
 * The in-guest matrix. What decides its cost under TCG is request_module(): every socket() for a
 * family with no usable module, every AF_INET/AF_INET6 protocol outside inetsw and every
 * unregistered NETLINK protocol runs /sbin/modprobe, ~10-25 ms each (calibrate job), while every
 * other case costs well under a millisecond. This matrix makes ~15,000 (generic) to ~21,000
 * (cloud) modprobe runs per sweep and takes ~4-6 min per sweep. It covers:
 *   - every family 0..48 (past AF_MAX=46 and NPROTO), so each net-pf-N alias is asked for;
 *   - types 0..11: every SOCK_* including SOCK_PACKET (10), and 11 = SOCK_MAX (EINVAL);
 *   - flags: none, SOCK_CLOEXEC|SOCK_NONBLOCK, and an invalid bit (EINVAL before any lookup);
 *   - protocols: -1, 0..8 (ICMP, IGMP, IPIP, TCP, the CAN/BT/PPPoX/phonet protocol numbers and the
 *     low NETLINK ones), 12, 15, 16 (NETLINK_NETFILTER, KOBJECT_UEVENT, GENERIC), UDP, DCCP,
 *     ICMPV6, L2TP, SCTP, UDPLITE, RAW, IPPROTO_SMC (256), MPTCP (262), 263 (IPPROTO_MAX),
 *     htons(ETH_P_ALL) and 65542 (truncated to 6 by AF_PACKET): every protocol that makes a
 *     family's ->create take a different branch or load a module (sctp, dccp, l2tp_ip, mptcp...).
 * 49 x 12 x 3 x 25 = 44,100 cases per sweep, run as root and as nobody.
 */
export const SWEEP_MATRIX = {
  domains: '0-48',
  types: '0-11',
  flags: 'none,SOCK_CLOEXEC|SOCK_NONBLOCK,invalid',
  protocols: '-1,0,1,2,3,4,5,6,7,8,12,15,16,17,33,58,115,132,136,255,256,262,263,768,65542',
};
/** A few hundred cases (--quick): proves the pipeline, covers little. */
export const QUICK_MATRIX = { domains: '0-48', types: '1,2,3,5', flags: 'none', protocols: '0,1' };
export type MatrixText = typeof SWEEP_MATRIX;

/** Cases per crossing in the guest; the offline replay batches the same way. */
export const SWEEP_BATCH = 1024;

export const VARIANTS = ['root', 'user'] as const;

/**
 * The 32-bit entries (issue 13), proven here because this project's own host boots with IA-32
 * emulation off: the i386 static probe, as root, every case of the default matrix (192,000), once
 * through socket(2) (#359, __ia32_sys_socket) and once through socketcall(2) (#102,
 * __ia32_compat_sys_socketcall). They run last, after kernel.modprobe is emptied: the sweeps
 * before them have autoloaded what autoloads, and 192,000 cases through an emulated modprobe
 * would take hours; the profile taken right then says so, and the model reads it.
 */
export const IA32_PROBE = 'build/probe/i386/sockbridge-probe';
export const IA32_CASES = 'build/probe/i386/cases';
export function ia32Jobs(): GuestJob[] {
  return [
    { name: 'profile-ia32', who: 'root', cmd: `echo > /proc/sys/kernel/modprobe && ${CLI} host --json` },
    { name: 'ia32-socket', who: 'root', cmd: `${IA32_PROBE} --batch ${SWEEP_BATCH} < ${IA32_CASES}` },
    { name: 'ia32-socketcall', who: 'root', cmd: `${IA32_PROBE} --route socketcall --batch ${SWEEP_BATCH} < ${IA32_CASES}` },
  ];
}

export function guestJobs(sweep: boolean, m: MatrixText = SWEEP_MATRIX, ia32 = false): GuestJob[] {
  const jobs: GuestJob[] = [];
  // Calibration loads modules, so with a sweep it runs last: the sweep must meet every module
  // unloaded, and autoload it itself. (Its "first call" timings are then of loaded modules.)
  const calibrate: GuestJob[] = [
    { name: 'calibrate', who: 'root', cmd: `node dist/scripts/kernels/guest-probe.js ${CALIBRATION_FAMILIES} 10` },
    { name: 'calibrate-user', who: 'user', cmd: 'node dist/scripts/kernels/guest-probe.js 25 10' },
  ];
  if (!sweep) jobs.push(...calibrate);
  if (sweep) {
    const args = `--variants self --format jsonl --no-progress --batch ${SWEEP_BATCH} ` +
      `--domains ${m.domains} --types ${m.types} --flags '${m.flags}' --protocols ${m.protocols}`;
    // Each sweep is preceded by the profile of the same user at that moment: modules the
    // root sweep loaded are loaded for the unprivileged one, and its profile says so.
    for (const v of VARIANTS) {
      jobs.push(
        { name: `profile-${v}`, who: v, cmd: `${CLI} host --json` },
        { name: `sweep-${v}`, who: v, cmd: `${CLI} sweep ${args}` },
      );
    }
  }
  jobs.push(
    { name: 'modules-after', who: 'root', cmd: 'cat /proc/modules' },
    ...(sweep ? calibrate : []),
    { name: 'dmesg', who: 'root', cmd: 'uname -a; cat /proc/cmdline; dmesg' },
  );
  if (sweep && ia32) jobs.push(...ia32Jobs());
  return jobs;
}

export interface Calibration {
  family: number;
  firstMs: number;
  firstErrno: number;
  meanMs: number;
  errno: number;
}

/** The file a frame is saved as in out/kernels/<kernel>/: profiles as .json, sweeps as .jsonl. */
export function frameFile(frame: string): string {
  return frame.replace(/^(profile-\w+)\.out$/, '$1.json').replace(/^(sweep-\w+)\.out$/, '$1.jsonl');
}

/** The frame a saved file came from (frameFile's inverse), or null for files that are not frames. */
export function frameOfFile(file: string): string | null {
  if (/^profile-\w+\.json$/.test(file)) return file.replace(/\.json$/, '.out');
  if (/^sweep-\w+\.jsonl$/.test(file)) return file.replace(/\.jsonl$/, '.out');
  return /\.(out|err)$/.test(file) ? file : null;
}

function frameText(outcome: KernelOutcome, name: string): string {
  const f = outcome.guest!.frames.get(name);
  if (!f) throw new InfraError('guest', `no ${name} frame came back`);
  return f.toString('utf8');
}

/**
 * Every job's exit and time into the outcome; a job that did not report, or whose exit `ok`
 * refuses, is a machine-room failure (InfraError with the end of its stderr).
 */
export function recordJobs(outcome: KernelOutcome, jobs: GuestJob[], ok: (j: GuestJob, rc: number) => boolean): void {
  const g = outcome.guest!;
  outcome.jobs = {};
  for (const j of jobs) {
    const end = g.jobs.get(j.name);
    if (!end) throw new InfraError('guest', `job ${j.name} did not report`);
    outcome.jobs[j.name] = { rc: end.rc, seconds: Math.round((end.end - end.start) * 100) / 100, who: j.who };
    if (!ok(j, end.rc)) {
      const err = (g.frames.get(`${j.name}.err`)?.toString('utf8') ?? '').trim().slice(-1500);
      throw new InfraError('guest', `job ${j.name} (${j.who}: ${j.cmd}) exited ${end.rc}: ${err || 'no message'}`);
    }
  }
}

/** Read the guest's outputs into the outcome; a job that crashed is a machine-room failure. */
export function analyseKernel(outcome: KernelOutcome, jobs: GuestJob[], packageRoot: string): void {
  // A sweep exits 1 on a mismatch, which is a verdict; anything else is a crash.
  recordJobs(outcome, jobs, (j, rc) => (j.name.startsWith('sweep-') ? rc === 0 || rc === 1 : rc === 0));
  for (const name of ['calibrate', 'calibrate-user']) {
    const c = JSON.parse(frameText(outcome, `${name}.out`)) as { uid: number; timings: Calibration[]; builtinMeanMs: number };
    (outcome.calibration ??= {})[name] = { uid: c.uid, timings: c.timings, builtinMeanMs: c.builtinMeanMs };
  }
  if (!jobs.some((j) => j.name === 'sweep-root')) return;

  const loadedAfter = frameText(outcome, 'modules-after.out').split('\n').filter(Boolean).map((l) => l.split(' ')[0]);
  const lib = loadModelLib(packageRoot);
  outcome.agreement = { live: {}, offline: {} };
  let mismatches = 0;
  for (const v of VARIANTS) {
    const profileText = frameText(outcome, `profile-${v}.out`);
    const jsonl = frameText(outcome, `sweep-${v}.out`);
    const profile = loadGuestProfile(lib, profileText, `${outcome.id} profile-${v}.json`);
    const rep = parseSweepJsonl(jsonl, `${outcome.id} sweep-${v}.jsonl`);
    if (rep.cases.length === 0) throw new InfraError('guest', `sweep-${v} reported no cases`);
    const live = liveAgreement(rep);
    const off = offlineAgreement(lib, profile, rep, SWEEP_BATCH);
    outcome.agreement.live[v] = live;
    outcome.agreement.offline[v] = off.agreement;
    // Agreement means MATCH: an EXPLAINED or UNSUPPORTED case is a disagreement the bridge could
    // account for, not an agreement, and fails the run like a MISMATCH.
    mismatches += live.cases - live.match + off.agreement.cases - off.agreement.match;
    fs.writeFileSync(path.join(outcome.outDir, `offline-${v}-disagreements.jsonl`), off.verdicts.map((x) => JSON.stringify({
      call: callName(x.case.domain, x.case.type, x.case.protocol), kind: x.kind, diffs: x.diffs, reason: x.reason,
      predicted: x.prediction.result, observed: { errno: x.observation.errno, fd: x.observation.fd },
    }) + '\n').join(''));
    if (v === 'root') {
      const cov = familyCoverage(lib, profile, rep, loadedAfter);
      outcome.coverage = {};
      for (const c of cov) {
        const why = c.status === 'unaliased' ? ` (${c.module} has no alias)`
          : c.status === 'autoloaded' ? ` (${c.modules.filter((m) => !c.notLoaded.includes(m)).join('+')}` +
            `${c.notLoaded.length ? `; ${c.notLoaded.join('+')} failed to load` : ''})`
          : c.status === 'failed' ? ` (${c.notLoaded.join('+')} failed to load)` : '';
        (outcome.coverage[c.status] ??= []).push(`${domainName(c.family)}${why}`);
      }
      fs.writeFileSync(path.join(outcome.outDir, 'families.json'), JSON.stringify(cov, null, 1) + '\n');
    }
  }
  outcome.modulesLoaded = loadedAfter.length;
  if (jobs.some((j) => j.name === 'ia32-socket')) {
    const profile = loadGuestProfile(lib, frameText(outcome, 'profile-ia32.out'), `${outcome.id} profile-ia32.json`);
    outcome.agreement.ia32 = {};
    const bad: string[] = [];
    for (const route of ['socket', 'socketcall'] as const) {
      const run = parseProbeOutput(frameText(outcome, `ia32-${route}.out`));
      if (run.header.abi !== 'i386' || run.header.route !== route) throw new InfraError('guest', `ia32-${route}: the probe says ${run.header.abi}/${run.header.route}`);
      const r = replay(profile, run, `ia32 ${route}`, { abi: ABIS.i386, route });
      outcome.agreement.ia32[route] = r.agreement;
      mismatches += r.agreement.cases - r.agreement.match;
      bad.push(...r.bad);
    }
    fs.writeFileSync(path.join(outcome.outDir, 'ia32-disagreements.txt'), bad.join('\n') + (bad.length ? '\n' : ''));
  }
  outcome.mismatches = mismatches;
}
