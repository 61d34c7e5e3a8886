/**
 * AF_UNIX, AF_NETLINK, AF_PACKET, AF_VSOCK, AF_XDP: each create's checks in the kernel's
 * order (which check wins when several fail), the rewrites, and the visible facts.
 */
import * as assert from 'assert';
import { ENODEV, EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../lib/abi/errno';
import { predictSocket } from '../lib/kernel';
import type { Prediction } from '../lib/types';
import { builtin618, unprivileged618 } from './kernel-profiles';

const sock = (domain: number, type: number, protocol: number) => ({ domain, type, protocol });
const caps = (p: Prediction) => p.trace.filter((s) => s.cap).map((s) => s.cap);

describe('kernel model: unix_create', () => {
  it('checks the protocol before the type: a bad protocol and a bad type give EPROTONOSUPPORT', () => {
    const p = predictSocket(builtin618(), sock(1, 9, 2));
    assert.strictEqual(p.result.errno, EPROTONOSUPPORT);
    assert.strictEqual(p.trace[p.deciding].fn, 'unix_create');
    assert.strictEqual(predictSocket(builtin618(), sock(1, 9, 0)).result.errno, ESOCKTNOSUPPORT);
    assert.strictEqual(predictSocket(builtin618(), sock(1, 4, 1)).result.errno, ESOCKTNOSUPPORT);
  });

  it('rewrites SOCK_RAW to SOCK_DGRAM and never sets sk_protocol', () => {
    const p = predictSocket(builtin618(), sock(1, 3, 1));
    assert.deepStrictEqual(
      p.facts && [p.facts.soType, p.facts.soProtocol, p.facts.protoName, p.facts.procNet],
      [2, 0, 'UNIX', 'unix'],
    );
    assert.ok(p.trace.some((s) => s.fn === 'unix_create' && s.outcome === 'rewrite'));
  });

  it('names stream sockets UNIX-STREAM from 5.15, UNIX before', () => {
    const now = predictSocket(builtin618(), sock(1, 1, 0)).facts;
    assert.strictEqual(now?.protoName, 'UNIX-STREAM');
    assert.deepStrictEqual(now?.protocolsDelta, { 'UNIX-STREAM': 1 });
    assert.strictEqual(predictSocket(builtin618(), sock(1, 5, 0)).facts?.protoName, 'UNIX');
    assert.strictEqual(predictSocket(builtin618({ release: '5.10.0' }), sock(1, 1, 0)).facts?.protoName, 'UNIX');
  });

  it('needs no capability', () => {
    assert.deepStrictEqual(caps(predictSocket(unprivileged618(), sock(1, 2, 0))), []);
  });
});

describe('kernel model: netlink_create', () => {
  it('checks the type before the protocol', () => {
    assert.strictEqual(predictSocket(builtin618(), sock(16, 1, -1)).result.errno, ESOCKTNOSUPPORT);
    assert.strictEqual(predictSocket(builtin618(), sock(16, 3, 32)).result.errno, EPROTONOSUPPORT);
    assert.strictEqual(predictSocket(builtin618(), sock(16, 2, -1)).result.errno, EPROTONOSUPPORT);
  });

  it('a protocol nobody registered is EPROTONOSUPPORT; a registered one is SO_PROTOCOL = protocol', () => {
    const p = predictSocket(builtin618(), sock(16, 3, 1));
    assert.strictEqual(p.result.errno, EPROTONOSUPPORT);
    assert.strictEqual(p.trace[p.deciding].fact?.name, 'net.netlink');
    const ok = predictSocket(unprivileged618(), sock(16, 2, 9));
    assert.deepStrictEqual(ok.facts && [ok.facts.soType, ok.facts.soProtocol, ok.facts.protoName, ok.facts.procNet], [2, 9, 'NETLINK', null]);
    assert.deepStrictEqual(ok.facts?.protocolsDelta, { NETLINK: 1 });
    assert.deepStrictEqual(caps(ok), []);
  });

  it('without /proc/net/netlink falls back to the config that builds each protocol', () => {
    const prof = builtin618({ netlink: null });
    assert.ok(predictSocket(prof, sock(16, 3, 6)).facts); // CONFIG_XFRM_USER=y
    assert.strictEqual(predictSocket(prof, sock(16, 3, 21)).result.errno, EPROTONOSUPPORT); // CONFIG_CRYPTO_USER unset
  });
});

describe('kernel model: packet_create', () => {
  it('checks CAP_NET_RAW first: unprivileged with a bad type is EPERM', () => {
    const p = predictSocket(unprivileged618(), sock(17, 1, 0));
    assert.strictEqual(p.result.errno, EPERM);
    assert.deepStrictEqual(caps(p), [{ cap: 13, granted: false, userns: 'netns-owner' }]);
    assert.strictEqual(predictSocket(builtin618(), sock(17, 1, 0)).result.errno, ESOCKTNOSUPPORT);
  });

  it('takes any protocol (truncated to 16 bits) and reports SO_PROTOCOL 0', () => {
    for (const proto of [0, 0x0300, 65539, -1]) {
      const f = predictSocket(builtin618(), sock(17, 3, proto)).facts;
      assert.deepStrictEqual(f && [f.soDomain, f.soType, f.soProtocol, f.protoName, f.procNet], [17, 3, 0, 'PACKET', 'packet']);
      assert.deepStrictEqual(f?.protocolsDelta, { PACKET: 1 });
    }
  });
});

describe('kernel model: xsk_create', () => {
  it('checks CAP_NET_RAW, then the type, then the protocol', () => {
    assert.strictEqual(predictSocket(unprivileged618(), sock(44, 1, 5)).result.errno, EPERM);
    assert.strictEqual(predictSocket(builtin618(), sock(44, 1, 5)).result.errno, ESOCKTNOSUPPORT);
    assert.strictEqual(predictSocket(builtin618(), sock(44, 3, 5)).result.errno, EPROTONOSUPPORT);
    const f = predictSocket(builtin618(), sock(44, 3, 0)).facts;
    assert.deepStrictEqual(f && [f.protoName, f.procNet, f.protocolsDelta], ['XDP', null, { XDP: 1 }]);
  });
});

describe('kernel model: vsock_create', () => {
  it('checks the protocol before the type, allows SEQPACKET from 5.14', () => {
    assert.strictEqual(predictSocket(builtin618(), sock(40, 9, 7)).result.errno, EPROTONOSUPPORT);
    assert.strictEqual(predictSocket(builtin618(), sock(40, 3, 40)).result.errno, ESOCKTNOSUPPORT);
    assert.strictEqual(predictSocket(builtin618(), sock(40, 5, 0)).facts?.protoName, 'AF_VSOCK');
    assert.strictEqual(predictSocket(builtin618({ release: '5.10.0' }), sock(40, 5, 0)).result.errno, ESOCKTNOSUPPORT);
  });

  it('DGRAM needs a datagram transport: ENODEV with virtio only, fine with VMCI', () => {
    const p = predictSocket(builtin618(), sock(40, 2, 0));
    assert.strictEqual(p.result.errno, ENODEV);
    assert.strictEqual(p.trace[p.deciding].fn, 'vsock_assign_transport');
    const vmci = builtin618({ config: { CONFIG_NET: 'y', CONFIG_VSOCKETS: 'y', CONFIG_VMWARE_VMCI_VSOCKETS: 'y' } });
    const f = predictSocket(vmci, sock(40, 2, 0)).facts;
    assert.deepStrictEqual(f && [f.soProtocol, f.procNet, f.protocolsDelta], [0, null, {}]);
  });
});
