/**
 * The generic path (net/socket.c, fs/file.c): the order of __sys_socket/__sock_create's
 * checks, the PF_INET/SOCK_PACKET rewrite, fd allocation and RLIMIT_NOFILE, flags.
 */
import * as assert from 'assert';
import { EAFNOSUPPORT, EINVAL, EMFILE, EPERM, EPROTONOSUPPORT } from '../lib/abi/errno';
import { KernelModel, predictSocket } from '../lib/kernel';
import { SOCK_CLOEXEC, SOCK_NONBLOCK } from '../lib/abi/constants';
import { builtin618, makeProfile, unprivileged618 } from './kernel-profiles';

const sock = (domain: number, type: number, protocol: number) => ({ domain, type, protocol });

describe('kernel model: __sys_socket and __sock_create', () => {
  it('rejects unknown flag bits with EINVAL before looking at the family', () => {
    const p = predictSocket(builtin618(), sock(9999, 1 | 0x100, 0));
    assert.strictEqual(p.result.errno, EINVAL);
    assert.strictEqual(p.trace[p.deciding].fn, '__sys_socket');
    // a negative type has every high bit set
    assert.strictEqual(predictSocket(builtin618(), sock(2, -1, 0)).result.errno, EINVAL);
  });

  it('checks the family range before the type: type 11 is EINVAL, but family 46 with type 11 is EAFNOSUPPORT', () => {
    assert.strictEqual(predictSocket(builtin618(), sock(2, 11, 0)).result.errno, EINVAL);
    assert.strictEqual(predictSocket(builtin618(), sock(3, 11, 0)).result.errno, EINVAL);
    const p = predictSocket(builtin618(), sock(46, 11, 0));
    assert.strictEqual(p.result.errno, EAFNOSUPPORT);
    assert.match(p.trace[p.deciding].what, /AF_MAX = 46/);
    assert.strictEqual(predictSocket(builtin618(), sock(-1, 1, 0)).result.errno, EAFNOSUPPORT);
  });

  it('takes AF_MAX from the release: 45 on 5.10, so family 45 is out of range there', () => {
    assert.strictEqual(predictSocket(builtin618({ release: '5.10.0' }), sock(45, 11, 0)).result.errno, EAFNOSUPPORT);
    assert.strictEqual(predictSocket(builtin618({ release: '5.15.0' }), sock(45, 11, 0)).result.errno, EINVAL);
    assert.strictEqual(predictSocket(builtin618({ release: '4.14.0' }), sock(44, 11, 0)).result.errno, EAFNOSUPPORT);
  });

  it('an unregistered family in range is EAFNOSUPPORT (no modules on this kernel)', () => {
    const p = predictSocket(builtin618(), sock(38, 5, 0));
    assert.strictEqual(p.result.errno, EAFNOSUPPORT);
    assert.match(p.trace[p.deciding].what, /net_families\[38\]/);
  });

  it('rewrites (PF_INET, SOCK_PACKET) to PF_PACKET, which then needs CAP_NET_RAW', () => {
    const p = predictSocket(builtin618(), sock(2, 10, 0x0300));
    assert.ok(p.facts);
    assert.strictEqual(p.facts.soDomain, 17);
    assert.strictEqual(p.facts.soType, 10);
    assert.strictEqual(p.facts.protoName, 'PACKET');
    assert.ok(p.trace.some((s) => s.outcome === 'rewrite' && s.fn === '__sock_create'));
    assert.strictEqual(predictSocket(unprivileged618(), sock(2, 10, 0x0300)).result.errno, EPERM);
    // only PF_INET is rewritten: inetsw6[SOCK_PACKET] is empty
    assert.strictEqual(predictSocket(builtin618(), sock(10, 10, 0)).result.errno, 94);
    // ...and the protocol range comes first there
    assert.strictEqual(predictSocket(builtin618(), sock(10, 10, 0x0300)).result.errno, EINVAL);
  });

  it('sets close-on-exec and O_NONBLOCK from the flags, and fdinfo flags from both', () => {
    const plain = predictSocket(builtin618(), sock(1, 1, 0)).facts;
    const both = predictSocket(builtin618(), sock(1, 1 | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)).facts;
    assert.ok(plain && both);
    assert.deepStrictEqual([plain.cloexec, plain.nonblock, plain.fdinfoFlags], [false, false, 0o2]);
    assert.deepStrictEqual([both.cloexec, both.nonblock, both.fdinfoFlags], [true, true, 0o2004002]);
  });

  it('the final fd_install step decides a success', () => {
    const p = predictSocket(builtin618(), sock(2, 1, 0));
    assert.strictEqual(p.result.fd, 3);
    assert.strictEqual(p.trace[p.deciding].fn, 'fd_install');
    assert.strictEqual(p.deciding, p.trace.length - 1);
  });
});

describe('kernel model: the fd table (fs/file.c)', () => {
  it('hands out the lowest free fd, and keepFd keeps it', () => {
    const m = new KernelModel(builtin618({ openFds: [0, 1, 2, 4] }));
    assert.strictEqual(m.predict(sock(1, 1, 0), { keepFd: true }).result.fd, 3);
    assert.strictEqual(m.predict(sock(1, 1, 0), { keepFd: true }).result.fd, 5);
    m.closeFds([3]);
    assert.strictEqual(m.predict(sock(1, 1, 0)).result.fd, 3);
    assert.deepStrictEqual(m.openFds(), [0, 1, 2, 4, 5]);
    m.setOpenFds([0]);
    assert.strictEqual(m.predict(sock(1, 1, 0)).result.fd, 1);
  });

  it('gives EMFILE only to requests that would otherwise succeed', () => {
    const prof = builtin618({ nofileSoft: 3, openFds: [0, 1, 2] });
    assert.strictEqual(predictSocket(prof, sock(2, 1, 0)).result.errno, EMFILE);
    assert.strictEqual(predictSocket(prof, sock(9999, 1, 0)).result.errno, EAFNOSUPPORT);
    assert.strictEqual(predictSocket(prof, sock(2, 11, 0)).result.errno, EINVAL);
    assert.strictEqual(predictSocket(prof, sock(2, 3, 0)).result.errno, EPROTONOSUPPORT);
    assert.strictEqual(predictSocket(prof, sock(2, 2, 1)).result.errno, 13); // ping: EACCES first
    assert.strictEqual(predictSocket(builtin618({ nofileSoft: 3, openFds: [0, 1, 2], capEffective: '0000000000000000' }), sock(2, 3, 1)).result.errno, EPERM);
    assert.strictEqual(predictSocket(builtin618({ nofileSoft: 0, openFds: [] }), sock(1, 1, 0)).result.errno, EMFILE);
  });

  it('an unknown fd table still predicts, and says the fact is missing', () => {
    const p = predictSocket(builtin618({ openFds: null }), sock(1, 1, 0));
    assert.strictEqual(p.result.fd, 3);
    assert.ok(p.missing?.includes('limits.openFds'));
  });

  it('rejects bad input with an error naming the value', () => {
    const m = new KernelModel(builtin618());
    assert.throws(() => m.predict(sock(1.5, 1, 0)), /bad domain 1.5/);
    assert.throws(() => m.predict(sock(1, 2 ** 31, 0)), /bad type 2147483648/);
    assert.throws(() => m.setOpenFds([-1]), /fds are >= 0/);
    assert.throws(() => new KernelModel({ ...makeProfile(), schema: 2 as unknown as 1 }), /schema 2/);
  });
});
