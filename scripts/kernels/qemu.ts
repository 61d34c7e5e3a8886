/**
 * Booting a kernel under qemu with no display and no network device: the console (ttyS0) goes
 * to a file, the data port (ttyS1) comes back through a pipe into the frame parser.
 *
 * KVM is used only when it really boots a kernel: /dev/kvm may exist and still fail inside a
 * nested guest (qemu then hangs or aborts), so a short probe boot decides, and TCG is the
 * fallback.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { FrameParser, GuestOutput } from './frames';
import { run, tail } from './apt';
import { type GuestArch, GUEST_ARCHES } from './guest-arch';

export type Accel = 'kvm' | 'tcg';

export interface BootOptions {
  vmlinuz: string;
  initrd: string;
  accel: Accel;
  cpus: number;
  memoryMb: number;
  /** Hard limit for the whole boot, after which qemu is killed. */
  timeoutMs: number;
  consoleLog: string;
  /** Extra kernel command line words. */
  append?: string;
  /** Called for READY / RC / DONE lines as they arrive (progress). */
  onEvent?: (line: string) => void;
  /** The guest's architecture (default amd64). */
  arch?: GuestArch;
}

export interface BootResult {
  output: GuestOutput;
  /** qemu's exit status (null when killed). */
  exitCode: number | null;
  timedOut: boolean;
  seconds: number;
  /** qemu's own stderr (errors starting the VM). */
  qemuStderr: string;
}

export function qemuArgs(o: BootOptions): string[] {
  const g = o.arch ?? GUEST_ARCHES.amd64;
  // One serial line (foreign guests): the console and the frames share stdio; the guest's /init
  // learns where to write from sockbridge.data= and quiets printk first.
  const serial = g.dataPort === 'console' ? ['-serial', 'stdio'] : ['-serial', `file:${o.consoleLog}`, '-serial', 'stdio'];
  return [
    '-nodefaults', '-nographic', '-no-reboot', '-nic', 'none',
    ...g.machineArgs(o.accel),
    '-m', String(o.memoryMb), '-smp', String(Math.min(o.cpus, g.maxCpus)),
    '-kernel', o.vmlinuz, '-initrd', o.initrd,
    '-append', `console=${g.console} panic=-1 quiet sockbridge.data=${g.dataPort === 'console' ? g.console : g.dataPort}${o.append ? ' ' + o.append : ''}`,
    ...serial,
  ];
}

export function boot(o: BootOptions): Promise<BootResult> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const g = o.arch ?? GUEST_ARCHES.amd64;
    const child = spawn(g.qemu, qemuArgs(o), { stdio: ['ignore', 'pipe', 'pipe'] });
    const parser = new FrameParser(o.onEvent);
    // The console shares the line with the frames: keep a copy of everything as the console log.
    const tee = g.dataPort === 'console' ? fs.createWriteStream(o.consoleLog) : null;
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (d: string) => { parser.push(d); tee?.write(d, 'latin1'); });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => { if (stderr.length < 65536) stderr += d; });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, o.timeoutMs);
    let finished = false;
    const finish = (code: number | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      tee?.end();
      resolve({ output: parser.end(), exitCode: code, timedOut, seconds: (Date.now() - t0) / 1000, qemuStderr: stderr });
    };
    child.on('error', (e) => { stderr += `spawn: ${e.message}\n`; finish(null); });
    child.on('close', (code) => finish(code));
  });
}

/** The last lines of the console log, for a failure message. */
export function consoleTail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'latin1').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no console output)';
  }
}

/**
 * Whether KVM boots this kernel: a boot of a tiny initramfs (busybox, an /init that says DONE
 * and powers off) under -accel kvm with a short timeout. Any failure means TCG.
 */
export async function probeKvm(vmlinuz: string, workDir: string, timeoutMs = 10_000): Promise<{ accel: Accel; why: string }> {
  if (!fs.existsSync('/dev/kvm')) return { accel: 'tcg', why: 'no /dev/kvm' };
  try {
    fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
  } catch {
    return { accel: 'tcg', why: '/dev/kvm is not read-writable' };
  }
  const dir = path.join(workDir, 'kvm-probe');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'root/bin'), { recursive: true });
  for (const d of ['proc', 'sys', 'dev']) fs.mkdirSync(path.join(dir, 'root', d));
  fs.copyFileSync('/bin/busybox', path.join(dir, 'root/bin/busybox'));
  fs.chmodSync(path.join(dir, 'root/bin/busybox'), 0o755);
  fs.writeFileSync(path.join(dir, 'root/init'),
    '#!/bin/busybox sh\n/bin/busybox mount -t devtmpfs d /dev\n' +
    'echo "@@SOCKBRIDGE DONE" > /dev/ttyS1\n/bin/busybox poweroff -f\n', { mode: 0o755 });
  const c = run('sh', ['-c', `cd "${dir}/root" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1 > ../probe.gz`]);
  if (c.status !== 0) return { accel: 'tcg', why: `could not build the probe initramfs: ${tail(c.stderr)}` };
  const r = await boot({
    vmlinuz, initrd: path.join(dir, 'probe.gz'), accel: 'kvm', cpus: 1, memoryMb: 256, timeoutMs,
    consoleLog: path.join(dir, 'console.log'),
  });
  if (r.output.done) return { accel: 'kvm', why: `probe boot finished in ${r.seconds.toFixed(1)} s` };
  const why = r.timedOut ? `probe boot under KVM did not finish in ${timeoutMs / 1000} s`
    : `qemu -accel kvm exited ${r.exitCode}: ${tail(r.qemuStderr, 2) || 'no output'}`;
  return { accel: 'tcg', why };
}
