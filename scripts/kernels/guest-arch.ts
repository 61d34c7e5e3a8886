/**
 * How a kernel of each Debian architecture boots here, and which kernel road runs in it.
 *
 * amd64: qemu-system-x86_64 (KVM when a probe boot works, else TCG); node and the built package
 *   run inside (the addon is the kernel road) and sweep as the host does.
 * arm64: qemu-system-aarch64 -M virt -cpu max (TCG: this machine's nested KVM runs no guest, and
 *   an x86 host has no arm64 KVM anyway). The default -cpu of virt is a 32-bit cortex-a15.
 * mips64el: qemu-system-mips64el -M malta -cpu 5KEc with one CPU (malta loads an ELF vmlinux -
 *   Debian's 5kc-malta vmlinuz is one - and hangs silently with -smp 2).
 *
 * In the foreign guests the kernel road is the static probe (native/static-probe.cc, the addon's
 * own road.cc cross-built for that ABI), not node: Debian has no cross-built node to put in an
 * initramfs, and building node and the addon for two more ABIs would cost more than the whole
 * test. The probe makes the same observations (fd, F_GETFD, F_GETFL, fdinfo, SO_DOMAIN/TYPE/
 * PROTOCOL, the socket link, fstat, sockprotoname, /proc/net rows).
 *
 * The host profile of a foreign guest: the guest copies the files the gatherer reads (the list is
 * recorded by running lib/host's gatherer here through a recording HostIO, see snapshot.ts), and
 * the host runs the same gatherer on that copy (its HostIO injection point, with no syscall
 * source: uname, ids, caps and limits then come from the guest's /proc files). A proc-root
 * override alone would not do: the gatherer also reads /lib/modules/RELEASE and /boot, and
 * its syscall facts would be this host's process's.
 *
 * Both foreign consoles are one serial line (virt has a single PL011; on malta only the first
 * port is certain), so the frames share it with the kernel's console; the guest sets the
 * console loglevel to 1 first, so no printk lands inside a frame.
 */
import type { AbiName } from '../../lib/abi/arch';
import type { Accel } from './qemu';

export interface GuestArch {
  debianArch: string;
  /** The ABI of the kernel and of the probe that runs in it. */
  abi: AbiName;
  /** The Debian package that provides the qemu binary. */
  qemuPackage: string;
  qemu: string;
  /** Machine and CPU arguments. */
  machineArgs(accel: Accel): string[];
  /** The console device the kernel writes to. */
  console: string;
  /** Where the frames go: a second serial port, or the console line itself. */
  dataPort: 'ttyS1' | 'console';
  /** The kernel road in the guest. */
  road: 'node' | 'static-probe';
  /** Whether KVM can be tried (only for the host's own architecture). */
  kvm: boolean;
  /** Highest -smp that boots. */
  maxCpus: number;
}

export const GUEST_ARCHES: Readonly<Record<string, GuestArch>> = {
  amd64: {
    debianArch: 'amd64', abi: 'x86_64', qemuPackage: 'qemu-system-x86', qemu: 'qemu-system-x86_64',
    machineArgs: (accel) => ['-accel', accel, '-cpu', accel === 'kvm' ? 'host' : 'max'],
    console: 'ttyS0', dataPort: 'ttyS1', road: 'node', kvm: true, maxCpus: 64,
  },
  arm64: {
    debianArch: 'arm64', abi: 'aarch64', qemuPackage: 'qemu-system-arm', qemu: 'qemu-system-aarch64',
    machineArgs: () => ['-M', 'virt', '-accel', 'tcg', '-cpu', 'max'],
    console: 'ttyAMA0', dataPort: 'console', road: 'static-probe', kvm: false, maxCpus: 8,
  },
  mips64el: {
    debianArch: 'mips64el', abi: 'mips64el', qemuPackage: 'qemu-system-mips', qemu: 'qemu-system-mips64el',
    machineArgs: () => ['-M', 'malta', '-accel', 'tcg', '-cpu', '5KEc'],
    console: 'ttyS0', dataPort: 'console', road: 'static-probe', kvm: false, maxCpus: 1,
  },
};

export function guestArch(debianArch: string): GuestArch {
  const g = GUEST_ARCHES[debianArch];
  if (!g) throw new Error(`no way to boot a ${debianArch} kernel here: known ${Object.keys(GUEST_ARCHES).join(', ')}`);
  return g;
}
