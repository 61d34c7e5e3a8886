import { strict as assert } from 'assert';
import * as path from 'path';
import { alignCase, alignEnvFromProfile, type AlignEnv } from '../lib/bridge/align';
import { loadProfile } from '../lib/host';
import { exitForCounts, exitForKind } from '../lib/cli/exit';
import type { Observation, Prediction } from '../lib/types';

const env: AlignEnv = { fsuid: 0, fsgid: 0, policies: [], checked: null };
const profile = loadProfile(path.join(__dirname, '..', '..', 'test', 'fixtures', 'profiles', 'debian-6.1-cloud.json'));
const c = { domain: 1, type: 1 | 0o2000000, protocol: 0 };

function predicted(over: Partial<NonNullable<Prediction['facts']>> = {}): Prediction {
  return {
    case: c, result: { fd: 5 }, trace: [{ fn: 'fd_install', what: 'fd 5', outcome: 'pass' }], deciding: 0,
    facts: {
      fd: 5, cloexec: true, nonblock: false, soDomain: 1, soType: 1, soProtocol: 0, protoName: 'UNIX-STREAM',
      procNet: 'unix', fdinfoFlags: 0o2000002, protocolsDelta: { 'UNIX-STREAM': 1 }, sockstatUsedDelta: 1, ...over,
    },
  };
}

function observed(over: Partial<Observation> = {}): Observation {
  return {
    case: c, errno: 0, fd: 5, link: 'socket:[1234]',
    fdinfo: { pos: 0, flags: 0o2000002, mntId: 10, ino: 1234, extra: { scm_fds: '0' } },
    stat: { mode: 0o140777, uid: 0, gid: 0, ino: 1234 }, fdFlags: 1, flFlags: 2,
    soDomain: 1, soType: 1, soProtocol: 0, protoName: 'UNIX-STREAM', procNet: { table: 'unix', row: {} }, ...over,
  };
}

describe('bridge/align: field by field', () => {
  it('a socket that agrees on every field is a MATCH over all socket fields', () => {
    const v = alignCase(predicted(), observed(), env);
    assert.equal(v.kind, 'MATCH');
    assert.deepEqual(v.diffs, []);
    assert.ok(v.fields.includes('SO_PROTOCOL') && v.fields.includes('procnet') && v.fields.includes('link'));
  });

  it('names each field that differs, with both values', () => {
    const v = alignCase(predicted({ soProtocol: 6, procNet: null }), observed({ fd: 6 }), env);
    assert.equal(v.kind, 'MISMATCH');
    const byField = Object.fromEntries(v.diffs.map((d) => [d.field, d]));
    assert.deepEqual(byField.SO_PROTOCOL, { field: 'SO_PROTOCOL', predicted: 6, observed: 0 });
    assert.deepEqual(byField.procnet, { field: 'procnet', predicted: null, observed: 'unix' });
    assert.equal(byField.fd.observed, 6);
  });

  it('checks that the link, fstat and fdinfo show the same inode', () => {
    const v = alignCase(predicted(), observed({ stat: { mode: 0o140777, uid: 0, gid: 0, ino: 999 } }), env);
    assert.equal(v.kind, 'MISMATCH');
    assert.equal(v.diffs[0].field, 'link');
  });

  it('expects fdinfo\'s ino: line only from 5.14 on (Debian 5.10 has none: the addon reports -1)', () => {
    const noIno = observed({ fdinfo: { pos: 0, flags: 0o2000002, mntId: 10, ino: -1, extra: {} } });
    const release = (r: string): AlignEnv => ({ ...alignEnvFromProfile({ ...profile, kernel: { ...profile.kernel, release: { value: r, source: 'test' } } }), policies: [] });
    assert.equal(release('5.10.0-43-cloud-amd64').fdinfoIno, false);
    assert.equal(release('5.14.0').fdinfoIno, true);
    assert.equal(alignCase(predicted(), noIno, release('5.10.0-43-cloud-amd64')).kind, 'MATCH');
    assert.equal(alignCase(predicted(), observed(), release('5.10.0-43-cloud-amd64')).kind, 'MISMATCH');
    assert.equal(alignCase(predicted(), noIno, release('6.1.0-50-amd64')).kind, 'MISMATCH');
    assert.equal(alignCase(predicted(), noIno, { ...env, fdinfoIno: null }).kind, 'MATCH');
  });

  it('compares errnos by number, and a failure against a success', () => {
    const fail: Prediction = { case: c, result: { errno: 97 }, trace: [], deciding: -1 };
    assert.equal(alignCase(fail, { case: c, errno: 97, fd: -1 }, env).kind, 'MATCH');
    const v = alignCase(fail, observed(), env);
    assert.equal(v.kind, 'MISMATCH');
    assert.deepEqual(v.diffs[0], { field: 'result', predicted: 'EAFNOSUPPORT', observed: 'fd 5' });
  });

  it('a divergence under a named policy that acts at that point is EXPLAINED with its evidence, never a MATCH', () => {
    const through: Prediction = { case: c, result: { errno: 97 }, trace: [{ fn: 'security_socket_create', what: 'LSM hook', outcome: 'info' }, { fn: 'unix_create', what: 'x', outcome: 'fail', errno: 97 }], deciding: 1 };
    const aa = { policy: 'apparmor' as const, name: 'AppArmor profile p (enforce)', detail: 'd', source: '/proc/self/attr/apparmor/current', hooks: ['socket_create' as const] };
    const v = alignCase(through, { case: c, errno: 13, fd: -1 }, { ...env, policies: [aa] });
    assert.equal(v.kind, 'EXPLAINED');
    assert.match(v.reason ?? '', /AppArmor profile p/);
    assert.deepEqual(v.evidence, [{ policy: 'apparmor', name: 'AppArmor profile p (enforce)', detail: 'd', source: '/proc/self/attr/apparmor/current' }]);
    assert.equal(alignCase(through, { case: c, errno: 38, fd: -1, signal: { signal: 31, fatal: false } } as Observation, { ...env, policies: [aa] }).kind, 'MISMATCH', 'an LSM never sends SIGSYS');
  });

  it('seccomp is never a policy that explains: the model runs the filters (issue 11), so Seccomp: 2 gives no candidate', () => {
    const p = structuredClone(profile);
    p.security.seccomp = { value: 2, source: '/proc/self/status' };
    p.security.lsmEvidence = { value: [], source: 'test' };
    assert.deepEqual(alignEnvFromProfile(p).policies, []);
  });

  it('exit codes: MISMATCH 1, then DEPARTURE 5, then EXPLAINED or UNSUPPORTED 4, else 0', () => {
    assert.equal(exitForCounts({ MATCH: 9 }), 0);
    assert.equal(exitForCounts({ MATCH: 9, UNSUPPORTED: 1 }), 4);
    assert.equal(exitForCounts({ MATCH: 9, EXPLAINED: 1 }), 4);
    assert.equal(exitForCounts({ DEPARTURE: 1, UNSUPPORTED: 1 }), 5);
    assert.equal(exitForCounts({ MISMATCH: 1, DEPARTURE: 1, EXPLAINED: 1 }), 1);
    assert.deepEqual((['MATCH', 'MISMATCH', 'UNSUPPORTED', 'EXPLAINED', 'DEPARTURE'] as const).map(exitForKind), [0, 1, 4, 4, 5]);
  });

  it('an LSM hook explains only the calls whose path reaches it, only refusals, only its families', () => {
    const bpf = { policy: 'bpf-lsm' as const, name: 'BPF program x (id 7) on lsm/socket_create', detail: 'd', source: 's', hooks: ['socket_create' as const], families: [1] };
    const e = { ...env, policies: [bpf] };
    const before: Prediction = { case: c, result: { errno: 97 }, trace: [{ fn: '__sock_create', what: 'family out of range', outcome: 'fail', errno: 97 }], deciding: 0 };
    assert.equal(alignCase(before, { case: c, errno: 13, fd: -1 }, e).kind, 'MISMATCH', 'refused before security_socket_create: the hook never ran');
    const through: Prediction = { ...predicted(), trace: [{ fn: 'security_socket_create', what: 'LSM hook', outcome: 'info' }, { fn: 'fd_install', what: 'fd 5', outcome: 'pass' }] };
    const v = alignCase(through, { case: c, errno: 13, fd: -1 }, e);
    assert.equal(v.kind, 'EXPLAINED');
    assert.equal(v.evidence?.[0].name, 'BPF program x (id 7) on lsm/socket_create');
    assert.equal(alignCase(through, { case: { ...c, domain: 2 }, errno: 13, fd: -1 }, { ...e, policies: [{ ...bpf, families: [10] }] }).kind, 'MISMATCH', 'another family');
    const predictedFail: Prediction = { case: c, result: { errno: 13 }, trace: [{ fn: 'security_socket_create', what: 'LSM hook', outcome: 'info' }], deciding: 0 };
    assert.equal(alignCase(predictedFail, observed(), e).kind, 'MISMATCH', 'a policy cannot make socket() succeed');
  });

  it('an LSM that is merely active explains nothing: the divergence stays a MISMATCH and says what was checked', () => {
    const through: Prediction = { ...predicted(), trace: [{ fn: 'security_socket_create', what: 'LSM hook', outcome: 'info' }] };
    const v = alignCase(through, { case: c, errno: 13, fd: -1 }, { ...env, checked: 'landlock: cannot refuse (ABI 7)' });
    assert.equal(v.kind, 'MISMATCH');
    assert.equal(v.evidence, undefined);
    assert.match(v.reason ?? '', /landlock: cannot refuse/);
  });

  it('an unknown fact makes the verdict UNSUPPORTED when the kernel gave one of the possible results', () => {
    const p: Prediction = { case: c, result: { errno: 1 }, trace: [], deciding: -1, possible: [{ errno: 1 }, { errno: 94 }], missing: ['capabilities'] };
    const v = alignCase(p, { case: c, errno: 94, fd: -1 }, env);
    assert.equal(v.kind, 'UNSUPPORTED');
    assert.match(v.reason ?? '', /capabilities/);
    assert.equal(alignCase(p, { case: c, errno: 22, fd: -1 }, env).kind, 'MISMATCH');
  });
});
