/**
 * What the guest runs, and what the host makes of it afterwards.
 */
import * as fs from 'fs';
import * as path from 'path';
import { InfraError } from './apt';
import type { GuestJob } from './initramfs';
import type { KernelOutcome } from './summary';

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

export function guestJobs(sweep: boolean): GuestJob[] {
  const jobs: GuestJob[] = [
    { name: 'calibrate', who: 'root', cmd: `node dist/scripts/kernels/guest-probe.js ${CALIBRATION_FAMILIES} 10` },
    { name: 'calibrate-user', who: 'user', cmd: 'node dist/scripts/kernels/guest-probe.js 25 10' },
  ];
  if (sweep) {
    // Each sweep is preceded by the profile of the same user at that moment: modules the
    // root sweep loaded are loaded for the unprivileged one, and its profile says so.
    jobs.push(
      { name: 'profile-root', who: 'root', cmd: `${CLI} host --json` },
      { name: 'sweep-root', who: 'root', cmd: `${CLI} sweep --format jsonl` },
      { name: 'profile-user', who: 'user', cmd: `${CLI} host --json` },
      { name: 'sweep-user', who: 'user', cmd: `${CLI} sweep --format jsonl` },
    );
  }
  jobs.push({ name: 'state', who: 'root', cmd: 'uname -a; cat /proc/cmdline; echo; cat /proc/modules; echo; dmesg' });
  return jobs;
}

export interface Calibration {
  family: number;
  firstMs: number;
  firstErrno: number;
  meanMs: number;
  errno: number;
}

/** Read the guest's outputs into the outcome; a job that crashed is a machine-room failure. */
export function analyseKernel(outcome: KernelOutcome, jobs: GuestJob[]): void {
  const g = outcome.guest!;
  outcome.jobs = {};
  for (const j of jobs) {
    const end = g.jobs.get(j.name);
    if (!end) throw new InfraError('guest', `job ${j.name} did not report`);
    outcome.jobs[j.name] = { rc: end.rc, seconds: Math.round((end.end - end.start) * 100) / 100, who: j.who };
  }
  for (const name of ['calibrate', 'calibrate-user']) {
    const end = g.jobs.get(name)!;
    const out = g.frames.get(`${name}.out`)?.toString('utf8') ?? '';
    if (end.rc !== 0) {
      throw new InfraError('guest', `job ${name} exited ${end.rc}: ${(g.frames.get(`${name}.err`)?.toString('utf8') ?? '').trim().slice(-800)}`);
    }
    const c = JSON.parse(out) as { uid: number; timings: Calibration[]; builtinMeanMs: number };
    (outcome.calibration ??= {})[name] = { uid: c.uid, timings: c.timings, builtinMeanMs: c.builtinMeanMs };
  }
}
