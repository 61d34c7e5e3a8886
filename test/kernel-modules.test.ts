/**
 * Module autoload (request_module against modules.alias and modules.dep), state that persists
 * across predictions, and branching when a needed fact is unknown.
 */
import * as assert from 'assert';
import { EAFNOSUPPORT, EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../lib/abi/errno';
import { KernelModel, predictSocket } from '../lib/kernel';
import type { Prediction } from '../lib/types';
import { builtin618, modular61 } from './kernel-profiles';

const sock = (domain: number, type: number, protocol: number) => ({ domain, type, protocol });
const requests = (p: Prediction) => p.trace.filter((s) => s.module).map((s) => s.module);

describe('kernel model: request_module', () => {
  it('loads the family module for net-pf-N and keeps it loaded for later predictions', () => {
    const m = new KernelModel(modular61());
    const p = m.predict(sock(17, 3, 0x300));
    assert.strictEqual(p.facts?.protoName, 'PACKET');
    assert.deepStrictEqual(requests(p), [{ request: 'net-pf-17', loaded: 'af_packet' }]);
    assert.ok(m.loadedModules().includes('af_packet'));
    assert.deepStrictEqual(requests(m.predict(sock(17, 2, 0))), []);
  });

  it('loads an inet protocol module with the dependency chain, via the type-specific alias first', () => {
    const m = new KernelModel(modular61());
    const p = m.predict(sock(2, 2, 115));
    assert.strictEqual(p.facts?.protoName, 'L2TP/IP');
    assert.deepStrictEqual(requests(p), [{ request: 'net-pf-2-proto-115-type-2', loaded: 'l2tp_ip' }]);
    assert.deepStrictEqual(m.loadedModules(), ['ip6_udp_tunnel', 'l2tp_core', 'l2tp_ip', 'udp_tunnel']);
  });

  it('falls back to the generic alias (SCTP has only net-pf-2-proto-132)', () => {
    const m = new KernelModel(modular61());
    const p = m.predict(sock(2, 5, 132));
    assert.deepStrictEqual(requests(p), [
      { request: 'net-pf-2-proto-132-type-5', loaded: null },
      { request: 'net-pf-2-proto-132', loaded: 'sctp' },
    ]);
    assert.strictEqual(p.facts?.protoName, 'SCTP');
    // sctp now answers SEQPACKET/0 too, and IPv6
    assert.strictEqual(m.predict(sock(2, 5, 0)).facts?.soProtocol, 132);
    assert.strictEqual(m.predict(sock(10, 1, 132)).facts?.protoName, 'SCTPv6');
  });

  it('tries twice and then fails when no alias matches', () => {
    const p = predictSocket(modular61(), sock(2, 3, 0));
    assert.strictEqual(p.result.errno, EPROTONOSUPPORT);
    assert.deepStrictEqual(requests(p).map((r) => r?.request), ['net-pf-2-proto-0-type-3', 'net-pf-2-proto-0']);
  });

  it('matches glob patterns and treats - and _ alike, as modprobe does', () => {
    const prof = modular61({ aliases: [['net_pf_17', 'af-packet'], ['net-pf-2-proto-1[0-9][0-9]', 'sctp']] });
    assert.ok(predictSocket(prof, sock(17, 3, 0)).facts);
    assert.strictEqual(predictSocket(prof, sock(2, 1, 132)).facts?.protoName, 'SCTP');
  });

  it('loads a netlink protocol module for net-pf-16-proto-N', () => {
    const m = new KernelModel(modular61());
    assert.strictEqual(m.predict(sock(16, 3, 6)).facts?.soProtocol, 6);
    // the module stays loaded: no second request, still registered
    const again = m.predict(sock(16, 2, 6));
    assert.strictEqual(again.facts?.soProtocol, 6);
    assert.deepStrictEqual(requests(again), []);
    assert.strictEqual(m.predict(sock(16, 3, 8)).result.errno, EPROTONOSUPPORT);
  });

  it('DCCP autoloads on 6.1 for the aliases dccp_ipv4 declares (proto 33 and proto 0 with SOCK_DCCP)', () => {
    assert.strictEqual(predictSocket(modular61(), sock(2, 6, 33)).facts?.protoName, 'DCCP');
    assert.strictEqual(predictSocket(modular61(), sock(2, 6, 0)).facts?.soProtocol, 33);
    const noAlias = modular61({ aliases: [['net-pf-2-proto-33', 'dccp_ipv4']] });
    assert.strictEqual(predictSocket(noAlias, sock(2, 6, 0)).result.errno, ESOCKTNOSUPPORT);
  });

  it('nothing loads with modules_disabled, an empty modprobe, a failing module, or a module without a file', () => {
    assert.strictEqual(predictSocket(modular61({ modulesDisabled: 1 }), sock(17, 3, 0)).result.errno, EAFNOSUPPORT);
    assert.strictEqual(predictSocket(modular61({ modprobe: '' }), sock(17, 3, 0)).result.errno, EAFNOSUPPORT);
    assert.strictEqual(predictSocket(modular61({ failing: ['af_packet'] }), sock(17, 3, 0)).result.errno, EAFNOSUPPORT);
    assert.strictEqual(predictSocket(modular61({ deps: {} }), sock(17, 3, 0)).result.errno, EAFNOSUPPORT);
    assert.ok(predictSocket(modular61({ loaded: ['af_packet'] }), sock(17, 3, 0)).facts);
  });

  it('never calls request_module for a missing family when CONFIG_MODULES is unset', () => {
    assert.deepStrictEqual(requests(predictSocket(builtin618(), sock(38, 5, 0))), []);
  });
});

describe('kernel model: unknown facts', () => {
  it('branches on an unknown ping_group_range: both results, the fact named', () => {
    const p = predictSocket(builtin618({ pingGroupRange: null }), sock(2, 2, 1));
    assert.deepStrictEqual(p.possible, [{ fd: 3 }, { errno: 13 }]);
    assert.deepStrictEqual(p.missing, ['net.ipv4.ping_group_range']);
    assert.deepStrictEqual(p.result, { fd: 3 });
  });

  it('branches on unknown capabilities only where the kernel checks one', () => {
    const prof = builtin618({ capEffective: null });
    const raw = predictSocket(prof, sock(2, 3, 1));
    assert.deepStrictEqual(raw.possible, [{ fd: 3 }, { errno: 1 }]);
    assert.ok(raw.missing?.[0].includes('CAP_NET_RAW'));
    assert.strictEqual(predictSocket(prof, sock(2, 1, 0)).possible, undefined);
  });

  it('branches on an unknown modules.alias when the kernel would autoload', () => {
    const p = predictSocket(modular61({ aliases: null }), sock(17, 3, 0));
    assert.deepStrictEqual(p.possible, [{ errno: EAFNOSUPPORT }, { fd: 3 }]);
    assert.ok(p.missing?.some((x) => x.includes('net-pf-17')));
  });

  it('without a kernel config, the registered families and protocols of the profile decide', () => {
    const prof = builtin618({ config: null, modprobe: null, families: [1, 2, 16], protocols: ['TCP', 'UDP', 'RAW', 'PING', 'UNIX', 'UNIX-STREAM', 'NETLINK'] });
    const v6 = predictSocket(prof, sock(10, 1, 0));
    assert.strictEqual(v6.result.errno, EAFNOSUPPORT);
    assert.strictEqual(predictSocket(prof, sock(2, 1, 262)).result.errno, EPROTONOSUPPORT); // no MPTCP listed
  });
});
