/**
 * AF_INET / AF_INET6 (net/ipv4/af_inet.c inet_create, net/ipv6/af_inet6.c inet6_create):
 * protocol range, the inetsw lookup and its wildcard, CAP_NET_RAW after the lookup, ping's
 * group range, MPTCP's sysctl, and what each successful socket makes visible.
 */
import * as assert from 'assert';
import { EACCES, EINVAL, ENOPROTOOPT, EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../lib/abi/errno';
import { predictSocket } from '../lib/kernel';
import type { Prediction } from '../lib/types';
import { builtin618, NO_CAPS, unprivileged618 } from './kernel-profiles';

const sock = (domain: number, type: number, protocol: number) => ({ domain, type, protocol });
const caps = (p: Prediction) => p.trace.filter((s) => s.cap).map((s) => s.cap);

describe('kernel model: inet_create / inet6_create', () => {
  for (const pf of [2, 10]) {
    const fn = pf === 2 ? 'inet_create' : 'inet6_create';
    describe(`family ${pf}`, () => {
      it('checks the protocol range first: -1 and 263 are EINVAL for every type', () => {
        for (const t of [0, 1, 2, 3, 5, 6]) {
          assert.strictEqual(predictSocket(builtin618(), sock(pf, t, -1)).result.errno, EINVAL);
          assert.strictEqual(predictSocket(builtin618(), sock(pf, t, 263)).result.errno, EINVAL);
        }
      });

      it('SOCK_RAW with protocol 0 is EPROTONOSUPPORT even to root, and no capability is checked', () => {
        const p = predictSocket(builtin618(), sock(pf, 3, 0));
        assert.strictEqual(p.result.errno, EPROTONOSUPPORT);
        assert.strictEqual(p.trace[p.deciding].fn, fn);
        assert.deepStrictEqual(caps(p), []);
      });

      it('SOCK_RAW checks CAP_NET_RAW in the netns owner userns only after the lookup succeeds', () => {
        const denied = predictSocket(unprivileged618(), sock(pf, 3, 1));
        assert.strictEqual(denied.result.errno, EPERM);
        assert.deepStrictEqual(caps(denied), [{ cap: 13, granted: false, userns: 'netns-owner' }]);
        assert.strictEqual(predictSocket(unprivileged618(), sock(pf, 3, 263)).result.errno, EINVAL);
        const root = predictSocket(builtin618(), sock(pf, 3, 255));
        assert.deepStrictEqual(caps(root), [{ cap: 13, granted: true, userns: 'netns-owner' }]);
        assert.ok(root.facts);
        assert.strictEqual(root.facts.soProtocol, 255);
        assert.strictEqual(root.facts.protoName, pf === 2 ? 'RAW' : 'RAWv6');
        assert.strictEqual(root.facts.procNet, pf === 2 ? 'raw' : 'raw6');
        assert.deepStrictEqual(root.facts.protocolsDelta, { [pf === 2 ? 'RAW' : 'RAWv6']: 1 });
        // the wildcard takes protocols 256..262 too since IPPROTO_MAX is 263
        assert.strictEqual(predictSocket(builtin618(), sock(pf, 3, 262)).facts?.soProtocol, 262);
      });

      it('raw in a user namespace: the netns owner decides', () => {
        const own = unprivileged618({ usernsIsInit: false, netnsOwnedByCallerUserns: true, capEffective: '000001ffffffffff' });
        assert.ok(predictSocket(own, sock(pf, 3, 1)).facts);
        const old = unprivileged618({ usernsIsInit: false, netnsOwnedByCallerUserns: false, capEffective: '000001ffffffffff' });
        assert.strictEqual(predictSocket(old, sock(pf, 3, 1)).result.errno, EPERM);
      });

      it('protocol 0 becomes the default: STREAM -> 6, DGRAM -> 17; no capability check', () => {
        const tcp = predictSocket(unprivileged618(), sock(pf, 1, 0));
        assert.strictEqual(tcp.facts?.soProtocol, 6);
        assert.strictEqual(tcp.facts?.protoName, pf === 2 ? 'TCP' : 'TCPv6');
        assert.strictEqual(tcp.facts?.procNet, null);
        assert.deepStrictEqual(tcp.facts?.protocolsDelta, {});
        assert.strictEqual(tcp.facts?.sockstatUsedDelta, 1);
        assert.deepStrictEqual(caps(tcp), []);
        assert.strictEqual(predictSocket(builtin618(), sock(pf, 2, 0)).facts?.soProtocol, 17);
      });

      it('an empty inetsw list is ESOCKTNOSUPPORT, a non-matching protocol EPROTONOSUPPORT', () => {
        for (const t of pf === 2 ? [0, 4, 5, 6, 7] : [0, 4, 5, 6, 7, 10]) assert.strictEqual(predictSocket(builtin618(), sock(pf, t, 0)).result.errno, ESOCKTNOSUPPORT, `type ${t}`);
        assert.strictEqual(predictSocket(builtin618(), sock(pf, 1, 17)).result.errno, EPROTONOSUPPORT);
        assert.strictEqual(predictSocket(builtin618(), sock(pf, 1, 132)).result.errno, EPROTONOSUPPORT);
        assert.strictEqual(predictSocket(builtin618(), sock(pf, 1, 256)).result.errno, EPROTONOSUPPORT);
      });

      it('ping: egid or a supplementary group in net.ipv4.ping_group_range, else EACCES (root too)', () => {
        const icmp = pf === 2 ? 1 : 58;
        const deny = predictSocket(builtin618(), sock(pf, 2, icmp));
        assert.strictEqual(deny.result.errno, EACCES);
        assert.strictEqual(deny.trace[deny.deciding].fn, 'ping_init_sock');
        assert.strictEqual(deny.trace[deny.deciding].fact?.name, 'net.ipv4.ping_group_range');
        assert.ok(predictSocket(builtin618({ pingGroupRange: [0, 0] }), sock(pf, 2, icmp)).facts);
        const supp = builtin618({ pingGroupRange: [65534, 65534], egid: 1000, groups: [5, 65534] });
        assert.strictEqual(predictSocket(supp, sock(pf, 2, icmp)).facts?.protoName, pf === 2 ? 'PING' : 'PINGv6');
        assert.strictEqual(predictSocket(builtin618({ pingGroupRange: [65534, 65534], egid: 1000, groups: [5] }), sock(pf, 2, icmp)).result.errno, EACCES);
      });

      it('MPTCP (STREAM/262) refuses with ENOPROTOOPT when net.mptcp.enabled is 0', () => {
        const ok = predictSocket(builtin618(), sock(pf, 1, 262));
        assert.strictEqual(ok.facts?.protoName, pf === 2 ? 'MPTCP' : 'MPTCPv6');
        assert.strictEqual(ok.facts?.sockstatUsedDelta, 1);
        const off = predictSocket(builtin618({ mptcpEnabled: 0 }), sock(pf, 1, 262));
        assert.strictEqual(off.result.errno, ENOPROTOOPT);
        assert.strictEqual(off.trace[off.deciding].fn, 'mptcp_init_sock');
      });

      it('UDP-Lite is DGRAM/136 on 6.18', () => {
        const p = predictSocket(builtin618(), sock(pf, 2, 136));
        assert.strictEqual(p.facts?.protoName, pf === 2 ? 'UDP-Lite' : 'UDPLITEv6');
        assert.strictEqual(p.facts?.soProtocol, 136);
      });
    });
  }

  it('before 5.6 IPPROTO_MAX is 256 and there is no MPTCP', () => {
    const old = builtin618({ release: '5.4.0', config: { CONFIG_NET: 'y', CONFIG_INET: 'y', CONFIG_IPV6: 'y', CONFIG_UNIX: 'y', CONFIG_PACKET: 'y' } });
    assert.strictEqual(predictSocket(old, sock(2, 1, 262)).result.errno, EINVAL);
    assert.strictEqual(predictSocket(old, sock(2, 3, 256)).result.errno, EINVAL);
    assert.strictEqual(predictSocket(old, sock(2, 3, 255)).facts?.soProtocol, 255);
  });

  it('DCCP exists before 6.16 when built, and SOCK_DCCP has an empty list from 6.16', () => {
    const cfg = { CONFIG_NET: 'y', CONFIG_INET: 'y', CONFIG_IPV6: 'y', CONFIG_IP_DCCP: 'y' };
    const old = predictSocket(builtin618({ release: '6.6.0', config: cfg }), sock(2, 6, 0));
    assert.strictEqual(old.facts?.protoName, 'DCCP');
    assert.strictEqual(old.facts?.soProtocol, 33);
    assert.strictEqual(predictSocket(builtin618({ release: '6.16.0', config: cfg }), sock(2, 6, 33)).result.errno, ESOCKTNOSUPPORT);
  });

  it('SCTP, when built in, gives STREAM/132 and SEQPACKET/0 and counts in /proc/net/protocols at create', () => {
    const prof = builtin618({ config: { ...{ CONFIG_NET: 'y', CONFIG_INET: 'y', CONFIG_IPV6: 'y' }, CONFIG_IP_SCTP: 'y' } });
    const seq = predictSocket(prof, sock(10, 5, 0));
    assert.strictEqual(seq.facts?.protoName, 'SCTPv6');
    assert.strictEqual(seq.facts?.soProtocol, 132);
    assert.deepStrictEqual(seq.facts?.protocolsDelta, { SCTPv6: 1 });
    assert.strictEqual(predictSocket(prof, sock(2, 1, 132)).facts?.protoName, 'SCTP');
  });

  it('IPPROTO_SMC over INET only from 6.11, with CONFIG_SMC', () => {
    const cfg = { CONFIG_NET: 'y', CONFIG_INET: 'y', CONFIG_IPV6: 'y', CONFIG_SMC: 'y' };
    assert.strictEqual(predictSocket(builtin618({ config: cfg }), sock(2, 1, 256)).facts?.protoName, 'INET_SMC');
    assert.strictEqual(predictSocket(builtin618({ release: '6.6.0', config: cfg }), sock(2, 1, 256)).result.errno, EPROTONOSUPPORT);
  });

  it('records no capability check for an unprivileged caller on paths that make none', () => {
    for (const c of [sock(2, 1, 0), sock(2, 2, 1), sock(10, 2, 0), sock(2, 3, 0)]) {
      assert.deepStrictEqual(caps(predictSocket(builtin618({ capEffective: NO_CAPS }), c)), []);
    }
  });
});
