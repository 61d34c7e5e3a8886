/**
 * net/socket.c: the generic half of socket(2).
 *
 *   __sys_socket -> __sys_socket_create (flags, type mask) -> __sock_create (family range,
 *   type range, PF_INET/SOCK_PACKET, LSM, sock_alloc, request_module, net_families[],
 *   pf->create, LSM) -> sock_map_fd (get_unused_fd_flags, sock_alloc_file, fd_install)
 *
 * Every argument and protocol error comes before an fd is reserved, so EMFILE is only ever
 * the answer to a request that would otherwise succeed.
 */
import { EAFNOSUPPORT, EINVAL, EMFILE } from '../../abi/errno';
import { O_CLOEXEC, O_NONBLOCK, O_RDWR, SOCK_CLOEXEC, SOCK_MAX, SOCK_NONBLOCK, SOCK_TYPE_MASK } from '../../abi/constants';
import type { Run } from '../ctx';
import type { NetProtoFamily, SockUnderConstruction } from '../family';
import { allocFd } from '../fs/file';
import { lookupFamily } from './registry';

const PF_INET = 2;
const PF_PACKET = 17;
const SOCK_PACKET = 10;

/** What a successful path leaves for the caller besides the fd. */
export interface SocketOut {
  sock: SockUnderConstruction;
  /** File flags passed to sock_map_fd: O_CLOEXEC and/or O_NONBLOCK. */
  flags: number;
  /**
   * The syscall entry's seccomp stage (lib/kernel/entry.ts): the raw 64-bit registers when
   * the caller passed them (null: the ints, zero-extended), and what the stage decided.
   */
  regs?: Array<[number, number]> | null;
  seccomp?: import('../kernel/seccomp').SeccompVerdict;
}

/**
 * __sys_socket(family, type, protocol): the fd, or -errno. On success `out.sock.sk` is set.
 */
export function sysSocket(run: Run, family: number, type: number, protocol: number, out: SocketOut): number {
  const tr = run.tracing;
  if (tr && run.kernelAtLeast('6.6')) {
    run.step({
      fn: 'update_socket_protocol',
      what: `BPF fmod_ret hook sees (${family}, ${type}, ${protocol}); no program assumed attached, protocol unchanged`,
      outcome: 'info',
    });
  }
  const flags = type & ~SOCK_TYPE_MASK;
  if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) {
    return run.fail(
      '__sys_socket',
      tr ? `type ${type} (0x${(type >>> 0).toString(16)}) has bits outside SOCK_TYPE_MASK|SOCK_CLOEXEC|SOCK_NONBLOCK` : '',
      EINVAL,
    );
  }
  const t = type & SOCK_TYPE_MASK;
  if (tr) {
    const fl: string[] = [];
    if (flags & SOCK_CLOEXEC) fl.push('SOCK_CLOEXEC');
    if (flags & SOCK_NONBLOCK) fl.push('SOCK_NONBLOCK');
    run.step({ fn: '__sys_socket', what: `flags ${fl.length ? fl.join('|') : 'none'}; type &= SOCK_TYPE_MASK -> ${t}`, outcome: 'pass' });
  }
  const sock = out.sock;
  const err = sockCreate(run, family, t, protocol, sock);
  if (err < 0) return err;
  // SOCK_NONBLOCK == O_NONBLOCK and SOCK_CLOEXEC == O_CLOEXEC on every arch this models.
  out.flags = flags & (O_CLOEXEC | O_NONBLOCK);
  return sockMapFd(run, sock, out.flags);
}

/** __sock_create(net, family, type, protocol, &sock, kern=0). */
export function sockCreate(run: Run, family: number, type: number, protocol: number, sock: SockUnderConstruction): number {
  const tr = run.tracing;
  const st = run.state;
  let afMax = st.afMax;
  if (afMax === null) {
    run.choose('kernel.release (AF_MAX)', 1);
    afMax = 46;
  }
  if (family < 0 || family >= afMax) {
    return run.fail(
      '__sock_create',
      tr ? `family ${family} outside 0..${afMax - 1} (NPROTO = AF_MAX = ${afMax})` : '',
      EAFNOSUPPORT,
      tr ? run.use('kernel.release') : undefined,
    );
  }
  if (type < 0 || type >= SOCK_MAX) {
    return run.fail('__sock_create', tr ? `type ${type} outside 0..${SOCK_MAX - 1} (SOCK_MAX = ${SOCK_MAX})` : '', EINVAL);
  }
  if (tr) run.step({ fn: '__sock_create', what: `family ${family} < AF_MAX ${afMax}; type ${type} < SOCK_MAX ${SOCK_MAX}`, outcome: 'pass' });

  // "This uglymoron is moved from INET layer to here to avoid deadlock in module load."
  if (family === PF_INET && type === SOCK_PACKET) {
    if (tr) {
      run.step({
        fn: '__sock_create',
        what: '(PF_INET, SOCK_PACKET) is obsolete: family rewritten to PF_PACKET (pr_info_once "uses obsolete (PF_INET,SOCK_PACKET)")',
        outcome: 'rewrite',
      });
    }
    family = PF_PACKET;
  }

  if (tr) {
    const lsms = st.lookup('security.lsms');
    run.step({
      fn: 'security_socket_create',
      what: `LSM hook (family ${family}, type ${type}, protocol ${protocol}); the model cannot see inside LSM policy and assumes it allows`,
      outcome: 'info',
      fact: run.use('security.lsms', lsms ? (lsms.value as string[]).join(',') : 'unknown'),
    });
    run.step({ fn: 'sock_alloc', what: 'new sockfs inode (S_IFSOCK|0777), struct socket; sock->type = ' + type, outcome: 'info' });
  }
  sock.family = family;
  sock.type = type;
  sock.sk = undefined;

  let pf = lookupFamily(run, family);
  if (!pf && run.state.modulesOn !== false) {
    // #ifdef CONFIG_MODULES: the return value is ignored; the lookup below decides.
    if (run.requestModule('__sock_create', `net-pf-${family}`)) pf = lookupFamily(run, family);
  }
  if (!pf) {
    return run.fail('__sock_create', tr ? `net_families[${family}] is NULL: no such family registered` : '', EAFNOSUPPORT);
  }
  if (tr) run.step({ fn: '__sock_create', what: `try_module_get(${pf.name} owner) -> ok; calling ${pf.createFn}`, outcome: 'pass' });

  const err = pf.create(run, sock, protocol);
  if (err < 0) {
    if (tr && run.deciding < 0) {
      // A family that returned an errno without a failing step: make the result explainable.
      run.fail(pf.createFn, `returned ${-err}`, -err);
    }
    return err;
  }
  if (!sock.sk) throw new Error(`model bug: ${pf.createFn} returned 0 without setting sock.sk`);
  if (tr) run.step({ fn: 'security_socket_post_create', what: 'LSM hook; assumed to allow', outcome: 'info' });
  return 0;
}

/** sock_map_fd(sock, flags): get_unused_fd_flags, sock_alloc_file, fd_install. */
export function sockMapFd(run: Run, sock: SockUnderConstruction, flags: number): number {
  const tr = run.tracing;
  const st = run.state;
  if (!st.fdsKnown) run.choose('limits.openFds', 1);
  let soft = st.nofileSoft;
  if (soft === null) {
    run.choose('RLIMIT_NOFILE', 1);
    soft = -1;
  }
  const fd = allocFd(st.fds, soft, st.nrOpen);
  if (fd < 0) {
    const lowest = st.fds.lowestFree();
    // sock_release: the family's ->release undoes whatever create did (a RAW socket is unhashed).
    return run.fail(
      'get_unused_fd_flags',
      tr ? `lowest free fd ${lowest} >= ${soft >= 0 && lowest >= soft ? `RLIMIT_NOFILE soft limit ${soft}` : `fs.nr_open ${st.nrOpen}`}; sock_release` : '',
      EMFILE,
      tr ? run.use(soft >= 0 && lowest >= soft ? 'RLIMIT_NOFILE' : 'fs.nr_open') : undefined,
    );
  }
  if (tr) {
    run.step({
      fn: 'get_unused_fd_flags',
      what: `alloc_fd -> ${fd} (lowest free)${flags & O_CLOEXEC ? ', close-on-exec set' : ''}`,
      outcome: 'pass',
      fact: run.use('RLIMIT_NOFILE'),
    });
    const sk = sock.sk;
    run.step({
      fn: 'sock_alloc_file',
      what: `dname "${sk ? sk.protoName : ''}" (sk_prot_creator->name), f_flags O_RDWR${flags & O_NONBLOCK ? '|O_NONBLOCK' : ''} (0${(O_RDWR | (flags & O_NONBLOCK)).toString(8)})`,
      outcome: 'info',
    });
    run.step({ fn: 'fd_install', what: `fd ${fd} installed`, outcome: 'pass' });
    run.decide();
  }
  return fd;
}

export type { NetProtoFamily };
