/**
 * sockbridge diff: on inputs whose differences are known from the kernel's history and from host
 * facts set on purpose (a capability dropped, a sysctl changed, a flavour without a module), on
 * inputs that must not differ (exit 0), and on real reports of this machine and of the Debian
 * guests when test:kernels has left them in out/kernels.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { columnsFromText, diffColumns, divergence, movedLimits, flavourOf, type Column, type DiffResult } from '../lib/diff';
import { renderDiffHtml, renderDiffJsonl, renderDiffText } from '../lib/diff/render';
import { loadProfile } from '../lib/host';
import { matrixCases, parseAxis } from '../lib/sweep/matrix';
import type { HostProfile } from '../lib/types';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'sockbridge.js');
const FIX = path.join(ROOT, 'test', 'fixtures', 'profiles');
const fixture = (n: string): HostProfile => loadProfile(path.join(FIX, `${n}.json`));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function skipWith(ctx: Mocha.Context, why: string): never {
  console.log(`      pending: ${why}`);
  ctx.skip();
}

/** Two profiles predicted over a small matrix. */
function diffProfiles(a: HostProfile, b: HostProfile, m: { domains: string; types: string; flags: string; protocols: string }): DiffResult {
  const col = (p: HostProfile, name: string): Column => columnsFromText(JSON.stringify(p), name)[0];
  const matrix = {
    domains: parseAxis(m.domains, 'domains'), types: parseAxis(m.types, 'types'),
    flags: parseAxis(m.flags, 'flags'), protocols: parseAxis(m.protocols, 'protocols'),
  };
  return diffColumns([col(a, 'a.json'), col(b, 'b.json')], { matrix: () => matrixCases(matrix) });
}

const byCall = (r: DiffResult, call: string) => r.cases.find((c) => c.call === call);

describe('diff: differences known from the kernel\'s history (profiles, model on both sides)', function () {
  this.timeout(120_000);
  const m = { domains: '2,10,40,45', types: '1,2,3,5,11', flags: 'none', protocols: '0,6,262' };

  it('IPPROTO_MAX 256 -> 263 at 5.6 and AF_MAX 45 -> 46 at 5.15 (synthetic 4.19 against Debian 6.1)', () => {
    const r = diffProfiles(fixture('synthetic-4.19'), fixture('debian-6.1-generic'), m);
    const mptcp = byCall(r, 'socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP)')!;
    assert.ok(mptcp, 'AF_INET SOCK_STREAM 262 differs');
    assert.deepEqual(mptcp.sides.map((s) => s.result), ['EINVAL', 'fd']);
    assert.equal(mptcp.sides[0].step?.fn, 'inet_create');
    assert.match(mptcp.sides[0].step!.what, /IPPROTO_MAX = 256/);
    const rel = mptcp.causes.find((c) => c.kind === 'release')!;
    assert.deepEqual(rel.moved, ['IPPROTO_MAX 256 -> 263 at 5.6']);
    // Debian 6.1 has no MCTP either: only SOCK_MAX tells the two apart (EINVAL after the family check).
    const mctp = r.cases.find((c) => c.case.domain === 45 && c.case.type === 11)!;
    assert.deepEqual(mctp.sides.map((s) => s.result), ['EAFNOSUPPORT', 'EINVAL']);
    assert.match(mctp.sides[0].step!.what, /NPROTO = AF_MAX = 45/);
    assert.deepEqual(mctp.causes.find((c) => c.kind === 'release')!.moved, ['AF_MAX 45 -> 46 at 5.15']);
    // TCP and UDP did not change: never listed.
    assert.ok(!byCall(r, 'socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)'));
    const text = renderDiffText(r);
    assert.match(text, /AF_INET \(2\)/);
    assert.match(text, /IPPROTO_MAX 256 -> 263 at 5\.6/);
  });

  it('Debian 5.10 against 6.12: SEQPACKET vsock from 5.14, AF_MCTP from 5.15, KCM built as a module in 6.12', () => {
    const r = diffProfiles(fixture('debian-5.10-generic'), fixture('debian-6.12-generic'), { domains: '1,2,40,41,45', types: '1,2,5,11', flags: 'none', protocols: '0,262' });
    const vs = byCall(r, 'socket(AF_VSOCK, SOCK_SEQPACKET, 0)')!;
    assert.deepEqual(vs.sides.map((s) => s.result), ['ESOCKTNOSUPPORT', 'fd']);
    assert.match(vs.sides[0].step!.what, /SEQPACKET only from 5\.14/);
    assert.ok(vs.causes.some((c) => c.kind === 'release'));
    const kcm = byCall(r, 'socket(AF_KCM, SOCK_DGRAM, 0)')!;
    assert.deepEqual(kcm.sides.map((s) => s.result), ['EAFNOSUPPORT', 'fd']);
    const cfg = kcm.causes.find((c) => c.fact === 'CONFIG_AF_KCM')!;
    assert.equal(cfg.kind, 'kernel config');
    assert.deepEqual(cfg.values, ['not set', 'm']);
    const mctp = r.cases.find((c) => c.case.domain === 45 && c.case.type === 11)!;
    assert.deepEqual(mctp.sides.map((s) => s.result), ['EAFNOSUPPORT', 'EINVAL']);
    assert.deepEqual(mctp.causes.find((c) => c.kind === 'release')!.moved, ['AF_MAX 45 -> 46 at 5.15']);
    // The paths part where they part: not at 6.6's update_socket_protocol hook, which changes nothing.
    for (const c of r.cases) for (const s of c.sides) assert.notEqual(s.step?.fn, 'update_socket_protocol', c.call);
  });
});

describe('diff: differences caused by facts, not releases', function () {
  this.timeout(120_000);

  it('a flavour without a module: Debian 6.1 generic against cloud names the config, never the release', () => {
    const g = fixture('debian-6.1-generic');
    const c = fixture('debian-6.1-cloud');
    assert.equal(g.kernel.release.value!.replace('-amd64', ''), c.kernel.release.value!.replace('-cloud-amd64', ''), 'same release');
    const r = diffProfiles(g, c, { domains: '5,29,31', types: '2,3,5', flags: 'none', protocols: '0,1' });
    const atalk = byCall(r, 'socket(AF_APPLETALK, SOCK_DGRAM, 0)')!;
    assert.deepEqual(atalk.sides.map((s) => s.result), ['fd', 'EAFNOSUPPORT']);
    assert.ok(atalk.causes.some((x) => x.fact === 'CONFIG_ATALK' && x.kind === 'kernel config'), JSON.stringify(atalk.causes));
    for (const grp of r.groups) assert.ok(!grp.causeKinds.includes('release'), `${grp.familyName}: ${grp.causeKinds}`);
    assert.deepEqual([flavourOf(g.kernel.release.value!), flavourOf(c.kernel.release.value!)], ['generic', 'cloud']);
  });

  it('a capability: every capability dropped turns AF_PACKET into EPERM at CAP_NET_RAW', () => {
    const a = fixture('live-host');
    const b: HostProfile = JSON.parse(JSON.stringify(a));
    b.creds.capEffective = { value: '0000000000000000', source: 'test: every capability dropped' };
    const r = diffProfiles(a, b, { domains: '1,17', types: '2,3', flags: 'none', protocols: '0,768' });
    const pk = byCall(r, 'socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))')!;
    assert.deepEqual(pk.sides.map((s) => s.result), ['fd', 'EPERM']);
    const cap = pk.causes.find((x) => x.kind === 'capability')!;
    assert.equal(cap.fact, 'creds.cap_effective: CAP_NET_RAW');
    assert.deepEqual(cap.values, ['granted', 'denied']);
    assert.ok(!r.cases.some((x) => x.case.domain === 1), 'AF_UNIX needs no capability: no difference');
  });

  it('a sysctl: ping_group_range decides ICMP datagram sockets', () => {
    const a = fixture('live-host');
    const open: HostProfile = JSON.parse(JSON.stringify(a));
    open.net.pingGroupRange = { value: [0, 2147483647], source: 'test: every group' };
    const shut: HostProfile = JSON.parse(JSON.stringify(a));
    shut.net.pingGroupRange = { value: [1, 0], source: 'test: nobody' };
    const r = diffProfiles(open, shut, { domains: '2', types: '2', flags: 'none', protocols: '1' });
    const ping = byCall(r, 'socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)')!;
    assert.deepEqual(ping.sides.map((s) => s.result), ['fd', 'EACCES']);
    assert.equal(ping.causes[0].kind, 'sysctl');
    assert.equal(ping.causes[0].fact, 'net.ipv4.ping_group_range');
  });

  it('the same profile twice: no difference', () => {
    const p = fixture('debian-6.12-generic');
    const r = diffProfiles(p, p, { domains: '0-48', types: '0-11', flags: 'none', protocols: '0,262' });
    assert.equal(r.cases.length, 0);
    assert.equal(r.sets[0].compared, 49 * 12 * 2);
  });
});

describe('diff: pure helpers', () => {
  it('movedLimits names the limits that moved between two releases, and where', () => {
    assert.deepEqual(movedLimits('5.4.0', '6.1.0-50-amd64'), ['AF_MAX 45 -> 46 at 5.15', 'IPPROTO_MAX 256 -> 263 at 5.6']);
    assert.deepEqual(movedLimits('6.1.0', '6.12.118+deb13-amd64'), []);
    assert.deepEqual(movedLimits('4.5', '4.19'), ['AF_MAX 41 -> 45 at 4.6, 4.7, 4.11, 4.18']);
  });

  it('divergence is the first step with another function, outcome, or value of the same fact', () => {
    const s = (fn: string, outcome: 'pass' | 'fail' | 'info', fact?: [string, string]) => ({ fn, what: fn, outcome, ...(fact ? { fact: { name: fact[0], value: fact[1], source: '' } } : {}) });
    assert.equal(divergence([s('a', 'pass'), s('b', 'pass')], [s('a', 'pass'), s('b', 'fail')]), 1);
    assert.equal(divergence([s('a', 'info', ['CONFIG_X', 'm'])], [s('a', 'info', ['CONFIG_X', 'y'])]), 0);
    assert.equal(divergence([s('a', 'pass')], [s('a', 'pass')]), 1);
  });
});

describe('diff: the command on real reports', function () {
  this.timeout(300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-diff-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const small = ['--variants', 'self', '--domains', '1,2,10,16,17', '--types', '1,2,3', '--flags', 'none,SOCK_CLOEXEC', '--protocols', '0,1,6,17,255,262'];
  let report = '';

  before(function () {
    report = path.join(dir, 'here.jsonl');
    const r = cli(['sweep', ...small, '--format', 'jsonl', '--out', report, '--no-progress']);
    if (r.code !== 0 && r.code !== 1) throw new Error(`sweep failed (${r.code}): ${r.err}`);
  });

  it('a report against itself: no difference, exit 0', () => {
    const r = cli(['diff', report, report]);
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /no difference/);
  });

  it('this machine\'s report against this machine\'s profile: the model agrees with the kernel, exit 0', () => {
    const prof = path.join(dir, 'here.json');
    const h = cli(['host', '--json', '--out', prof]);
    assert.equal(h.code, 0, h.err);
    const r = cli(['diff', report, prof]);
    assert.equal(r.code, 0, r.out);
  });

  it('a report against a 4.19 profile: differences (IPPROTO_MPTCP), exit 1, in all three formats', () => {
    const cloud = path.join(FIX, 'synthetic-4.19.json');
    const t = cli(['diff', report, cloud]);
    assert.equal(t.code, 1, t.err);
    assert.match(t.out, /kernel\s+\S+\s+4\.19\.0-27-amd64/);
    assert.match(t.out, /socket\(AF_INET, SOCK_STREAM, IPPROTO_MPTCP\): \S+ on .*, EINVAL on 4\.19/);
    const j = cli(['diff', report, cloud, '--format', 'jsonl']);
    assert.equal(j.code, 1, j.err);
    const lines = j.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines[0].kind, 'header');
    assert.equal(lines[0].schema, 'sockbridge.diff/1');
    assert.equal(lines[0].columns.length, 2);
    const cases = lines.filter((l) => l.kind === 'case');
    assert.equal(lines[lines.length - 1].differing, cases.length);
    assert.ok(cases.length > 0 && cases.every((c) => c.results.length === 2 && c.results[0] !== undefined));
    const h = cli(['diff', report, cloud, '--format', 'html', '--out', path.join(dir, 'd.html')]);
    assert.equal(h.code, 1, h.err);
    const html = fs.readFileSync(path.join(dir, 'd.html'), 'utf8');
    // The sweep's html report: the differences first, a group per diff group with its cases (50 at the most), then a tab per host.
    assert.match(html, /<table class="t hosts">/);
    const groups = lines.filter((l) => l.kind === 'group');
    assert.equal((html.match(/<div class="dgroup"/g) ?? []).length, groups.length);
    assert.equal((html.match(/<tr class="case"/g) ?? []).length, groups.reduce((n, g) => n + Math.min(g.cases, 50), 0));
    assert.equal((html.match(/<table class="grid">/g) ?? []).length, 2, 'a grid for each of the two hosts');
  });

  it('a fleet: three inputs side by side, one column each', () => {
    const r = cli(['diff', report, path.join(FIX, 'debian-5.10-generic.json'), path.join(FIX, 'debian-6.12-generic.json'), '--format', 'jsonl']);
    assert.equal(r.code, 1, r.err);
    const head = JSON.parse(r.out.split('\n')[0]);
    assert.deepEqual(head.columns.map((c: { release: string }) => c.release.split('.')[0] + '.' + c.release.split('.')[1]),
      [`${os.release().split('.')[0]}.${os.release().split('.')[1]}`, '5.10', '6.12']);
    assert.deepEqual(head.columns.map((c: { from: string }) => c.from), ['report', 'profile', 'profile']);
  });

  it('a report that carries no profile: the differences are listed, their steps said to be unknown', () => {
    const bare = path.join(dir, 'bare.jsonl');
    fs.writeFileSync(bare, fs.readFileSync(report, 'utf8').split('\n').filter((l) => !l.startsWith('{"kind":"profile"')).join('\n'));
    const r = cli(['diff', bare, path.join(FIX, 'synthetic-4.19.json')]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /deciding step not known: no profile/);
    assert.match(r.out, /carries no profile line/);
  });

  it('bad inputs: exit 2 naming the file, 3 when it cannot be read, 2 with one input', () => {
    const junk = path.join(dir, 'junk.txt');
    fs.writeFileSync(junk, 'hello\n');
    const a = cli(['diff', report, junk]);
    assert.equal(a.code, 2);
    assert.match(a.err, /junk\.txt: neither a sweep report/);
    const b = cli(['diff', report, path.join(dir, 'missing.jsonl')]);
    assert.equal(b.code, 3);
    assert.match(b.err, /cannot read .*missing\.jsonl/);
    const c = cli(['diff', report]);
    assert.equal(c.code, 2);
    assert.match(c.err, /at least two inputs/);
    const d = cli(['diff', report, report, '--format', 'xml']);
    assert.equal(d.code, 2);
  });
});

describe('diff: the Debian guests\' own reports (test:kernels)', function () {
  this.timeout(300_000);
  const out = process.env.SOCKBRIDGE_KERNELS_OUT ?? path.join(ROOT, 'out', 'kernels');
  const rep = (k: string) => path.join(out, k, 'sweep-root.jsonl');

  it('5.10 against 6.12: the real differences, each with its deciding steps', function () {
    const a = rep('debian-5.10-generic');
    // CI boots 6.12's cloud flavour (see .ci/run); a full run has the generic one too.
    const b = [rep('debian-6.12-generic'), rep('debian-6.12-cloud')].find((f) => fs.existsSync(f)) ?? rep('debian-6.12-cloud');
    for (const f of [a, b]) if (!fs.existsSync(f)) skipWith(this, `${f} is missing: "npm run test:kernels -- --kernels debian-5.10-generic,debian-6.12-cloud" writes it`);
    const cols = [a, b].flatMap((f) => columnsFromText(fs.readFileSync(f, 'utf8'), f));
    const r = diffColumns(cols);
    assert.ok(r.cases.length > 0);
    assert.ok(cols.every((c) => c.profile), 'the guest reports carry their profiles');
    for (const c of r.cases) {
      // Every difference of the two kernels is explained by a step of the model on each side.
      for (const s of c.sides) assert.ok(s.step || s.deciding, `${c.call}: no step on one side`);
    }
    const vs = byCall(r, 'socket(AF_VSOCK, SOCK_SEQPACKET, IPPROTO_IP)') ?? byCall(r, 'socket(AF_VSOCK, SOCK_SEQPACKET, 0)');
    assert.ok(vs, 'SEQPACKET vsock differs');
    assert.match(renderDiffText(r), /5\.14/);
    assert.ok(renderDiffJsonl(r).length > 0 && renderDiffHtml(r).includes('<table'));
  });
});
