import { strict as assert } from 'assert';
import {
  callName, domainName, typeName, protocolName, parseDomain, parseType, parseProtocol, parseInt32,
  errnoName, errnoFromName, resultText, NameError,
} from '../lib/abi/names';

describe('abi/names: strace-style names', () => {
  it('prints calls the way strace does', () => {
    assert.equal(callName(2, 1 | 0o2000000, 6), 'socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP)');
    assert.equal(callName(17, 3, 768), 'socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))');
    assert.equal(callName(16, 3, 0), 'socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)');
    assert.equal(callName(46, 11, 0), 'socket(46, 11, 0)');
    assert.equal(typeName(2 | 0o4000 | 0o2000000), 'SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK');
    assert.equal(typeName(1 | 0x40), 'SOCK_STREAM|0x40');
    assert.equal(typeName(-1), '15|SOCK_CLOEXEC|SOCK_NONBLOCK|0xfff7f7f0');
    assert.equal(domainName(1), 'AF_UNIX');
    assert.equal(protocolName(2, 262), 'IPPROTO_MPTCP');
  });

  it('parses names, PF_ spellings, bare names and numbers', () => {
    assert.equal(parseDomain('AF_INET'), 2);
    assert.equal(parseDomain('PF_PACKET'), 17);
    assert.equal(parseDomain('inet6'), 10);
    assert.equal(parseDomain('AF_LOCAL'), 1);
    assert.equal(parseDomain('46'), 46);
    assert.equal(parseDomain('0x10'), 16);
    assert.equal(parseType('SOCK_STREAM|SOCK_CLOEXEC'), 1 | 0o2000000);
    assert.equal(parseType('raw|nonblock'), 3 | 0o4000);
    assert.equal(parseType('11'), 11);
    assert.equal(parseProtocol('IPPROTO_TCP'), 6);
    assert.equal(parseProtocol('TCP'), 6);
    assert.equal(parseProtocol('htons(ETH_P_ALL)'), 768);
    assert.equal(parseProtocol('ETH_P_ALL'), 768);
    assert.equal(parseProtocol('NETLINK_ROUTE'), 0);
    assert.equal(parseProtocol('ROUTE', 16), 0);
    assert.equal(parseProtocol('-1'), -1);
  });

  it('refuses numbers outside int32 instead of wrapping them', () => {
    assert.throws(() => parseInt32('2147483648', 'domain'), /outside int32/);
    assert.throws(() => parseDomain('4294967298'), /outside int32/);
    assert.throws(() => parseProtocol('-2147483649'), /outside int32/);
    assert.equal(parseInt32('-2147483648', 'x'), -2147483648);
    assert.throws(() => parseInt32('1.5', 'x'), /not a number/);
  });

  it('names the nearest valid names for a typo', () => {
    assert.throws(() => parseDomain('AF_INTE'), (e: unknown) => e instanceof NameError && /did you mean AF_INET/.test(e.message));
    assert.throws(() => parseType('SOCK_STERAM'), /did you mean SOCK_STREAM/);
    assert.throws(() => parseProtocol('IPPROTO_TPC'), /did you mean IPPROTO_TCP/);
    assert.throws(() => parseType(''), /empty/);
  });

  it('names errnos as glibc and strace do, and compares by number', () => {
    assert.equal(errnoName(95), 'EOPNOTSUPP');
    assert.equal(errnoName(97), 'EAFNOSUPPORT');
    assert.equal(errnoFromName('ENOTSUP'), 95);
    assert.equal(errnoFromName('EOPNOTSUPP'), 95);
    assert.equal(errnoFromName('EPERM'), 1);
    assert.equal(resultText({ errno: 1 }), '= -1 EPERM (Operation not permitted)');
    assert.equal(resultText({ fd: 3 }), '= 3');
  });
});
