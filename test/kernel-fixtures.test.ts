/**
 * The model on profile fixtures of other kernels (test/fixtures/profiles): a Debian 6.1 with
 * CONFIG_MODULES=y, where socket() goes through request_module and modules.alias, and a
 * 4.19 kernel, where the release-keyed rules (IPPROTO_MAX, AF_MAX, UNIX names, VSOCK
 * SEQPACKET) differ from 6.18.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { EAFNOSUPPORT, EINVAL, ESOCKTNOSUPPORT } from '../lib/abi/errno';
import { KernelModel } from '../lib/kernel';
import type { HostProfile, Prediction } from '../lib/types';

const sock = (domain: number, type: number, protocol: number) => ({ domain, type, protocol });
const requests = (p: Prediction) => p.trace.filter((s) => s.module).map((s) => s.module?.request);
const dir = path.join(__dirname, '..', '..', 'test', 'fixtures', 'profiles');

function load(name: string): HostProfile | null {
  const file = path.join(dir, name);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as HostProfile) : null;
}

describe('kernel model on the Debian 6.1 fixture (CONFIG_MODULES=y)', function () {
  const prof = load('debian-6.1-generic.json');
  before(function () {
    if (!prof) {
      console.log(`    (pending: ${path.join(dir, 'debian-6.1-generic.json')} is not there)`);
      this.skip();
    }
  });

  it('autoloads SCTP through net-pf-2-proto-132 and keeps it for IPv6', () => {
    const m = new KernelModel(prof as HostProfile);
    const p = m.predict(sock(2, 5, 132));
    assert.strictEqual(p.facts?.protoName, 'SCTP');
    assert.deepStrictEqual(requests(p), ['net-pf-2-proto-132-type-5', 'net-pf-2-proto-132']);
    assert.ok(m.loadedModules().includes('sctp'));
    const v6 = m.predict(sock(10, 1, 132));
    assert.strictEqual(v6.facts?.protoName, 'SCTPv6');
    assert.deepStrictEqual(requests(v6), []);
  });

  it('requests net-pf-N for an unregistered family before answering EAFNOSUPPORT', () => {
    const m = new KernelModel(prof as HostProfile);
    const p = m.predict(sock(12, 2, 0)); // AF_DECnet: gone in 6.1
    assert.strictEqual(p.result.errno, EAFNOSUPPORT);
    assert.deepStrictEqual(requests(p), ['net-pf-12']);
  });

  it('6.1 rules: IPPROTO_MAX 263, no IPPROTO_SMC over INET, UNIX-STREAM', () => {
    const m = new KernelModel(prof as HostProfile);
    assert.strictEqual(m.predict(sock(2, 3, 262)).facts?.soProtocol, 262);
    assert.strictEqual(m.predict(sock(2, 1, 256)).result.errno, 93);
    assert.strictEqual(m.predict(sock(1, 1, 0)).facts?.protoName, 'UNIX-STREAM');
  });
});

describe('kernel model on the 4.19 fixture', function () {
  const prof = load('synthetic-4.19.json');
  before(function () {
    if (!prof) {
      console.log(`    (pending: ${path.join(dir, 'synthetic-4.19.json')} is not there)`);
      this.skip();
    }
  });

  it('4.19 rules: AF_MAX 45, IPPROTO_MAX 256, one UNIX proto, no VSOCK SEQPACKET, no MPTCP', () => {
    const m = new KernelModel(prof as HostProfile);
    assert.strictEqual(m.predict(sock(45, 1, 0)).result.errno, EAFNOSUPPORT);
    assert.strictEqual(m.predict(sock(44, 11, 0)).result.errno, EINVAL);
    assert.strictEqual(m.predict(sock(2, 3, 256)).result.errno, EINVAL);
    assert.strictEqual(m.predict(sock(2, 1, 262)).result.errno, EINVAL);
    assert.strictEqual(m.predict(sock(1, 1, 0)).facts?.protoName, 'UNIX');
    assert.strictEqual(m.predict(sock(40, 5, 0)).result.errno, ESOCKTNOSUPPORT);
  });
});
