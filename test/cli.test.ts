/**
 * The command line as a person uses it: real runs of bin/sockbridge.js on this machine.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'sockbridge.js');

function run(args: string[], extraEnv: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1', ...extraEnv },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const isRoot = process.geteuid?.() === 0;

describe('cli: explain', function () {
  this.timeout(120_000);

  it('AF_INET SOCK_DGRAM IPPROTO_ICMP names ping_group_range, its value, and why it excludes the caller', () => {
    const range = fs.readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim().split(/\s+/).join(' ');
    const r = run(['explain', 'AF_INET', 'SOCK_DGRAM', 'IPPROTO_ICMP']);
    assert.ok(r.code === 0, r.err);
    assert.match(r.out, /socket\(AF_INET, SOCK_DGRAM, IPPROTO_ICMP\)/);
    assert.match(r.out, /net\.ipv4\.ping_group_range/);
    assert.ok(r.out.includes(range), `shows the sysctl's value "${range}"`);
    assert.match(r.out, /ping_init_sock/);
    if (range === '1 0') {
      assert.match(r.out, /EACCES/);
      assert.match(r.out, /deciding step: ping_init_sock/);
    }
    assert.match(r.out, /\(agrees\)/);
  });

  it('AF_INET SOCK_PACKET 0 shows the rewrite to PF_PACKET', () => {
    const r = run(['explain', 'AF_INET', 'SOCK_PACKET', '0']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /__sock_create.*PF_PACKET/);
    assert.match(r.out, /rewrite/);
    assert.match(r.out, /packet_create/);
  });

  it('46 SOCK_STREAM 0: the range check rejects it before any inode is allocated', () => {
    const r = run(['explain', '46', 'SOCK_STREAM', '0']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /EAFNOSUPPORT/);
    assert.match(r.out, /deciding step: __sock_create/);
    const deciding = r.out.indexOf('→');
    assert.ok(deciding > 0);
    assert.ok(!r.out.slice(0, r.out.indexOf('deciding step')).includes('sock_alloc '), 'no sock_alloc step in the trace');
  });

  it('AF_PACKET SOCK_RAW 0 names the capability check and the user namespace it uses', () => {
    const r = run(['explain', 'AF_PACKET', 'SOCK_RAW', '0']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /packet_create/);
    assert.match(r.out, /CAP_NET_RAW/);
    assert.match(r.out, isRoot ? /= \d+/ : /EPERM/);
  });

  it('--profile predicts for a saved host without asking the kernel', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-cli-'));
    try {
      const file = path.join(dir, 'host.json');
      assert.equal(run(['host', '--json', '--out', file]).code, 0);
      const r = run(['explain', 'AF_UNIX', 'SOCK_STREAM', '0', '--profile', file]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /the kernel was not asked/);
      assert.match(r.out, /unix_create/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cli: compare', function () {
  this.timeout(120_000);

  it('compares a TCP socket field by field and agrees', () => {
    const r = run(['compare', 'AF_INET', 'SOCK_STREAM|SOCK_CLOEXEC', 'IPPROTO_TCP']);
    assert.equal(r.code, 0, r.out + r.err);
    for (const f of ['fd', 'close-on-exec', 'O_NONBLOCK', 'SO_DOMAIN', 'SO_TYPE', 'SO_PROTOCOL', 'link', 'sockprotoname', '/proc/net']) {
      assert.match(r.out, new RegExp(`^${f.replace('/', '\\/')}\\s`, 'm'), `row ${f}`);
    }
    assert.match(r.out, /MATCH/);
    assert.match(r.out, /counters/);
  });

  it('--json gives the verdict and both roads', () => {
    const r = run(['compare', 'AF_UNIX', 'SOCK_DGRAM', '0', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.verdict, 'MATCH');
    assert.equal(j.prediction.facts.protoName, j.observation.protoName);
    assert.equal(j.observation.procNet.table, 'unix');
  });
});

describe('cli: sweep --list-variants', function () {
  it('lists every variant, the parametric ones and the groups, one line each, and every name is one --variants takes', () => {
    const r = run(['sweep', '--list-variants']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    const names = lines.map((l) => l.split(/\s+/)[0]);
    for (const n of ['self', 'nobody', 'userns-nomap', 'userns-partial', 'userns-uidonly', 'userns-setgroups-deny', 'unpriv-userns', 'unpriv-userns-net', 'ambient-netraw', 'netns-sysctl', 'rlimit=N', 'seccomp:FILE', 'restrict-af:LIST', 'namespaces']) {
      assert.equal(names.filter((x) => x === n).length, 1, `${n} on one line:\n${r.out}`);
    }
    for (const l of lines) assert.match(l, /^\S+\s+(default|opt-in|group)\s+\S/, l);
    const bad = run(['sweep', '--variants', 'userns-nomapp']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /userns-nomap/);
    assert.match(bad.err, /seccomp:FILE, restrict-af:LIST/);
  });
});

describe('cli: bad input gets a clear error and exit code 2', function () {
  this.timeout(60_000);
  const cases: Array<[string[], RegExp]> = [
    [['explain', 'AF_INTE', 'SOCK_STREAM'], /unknown name "AF_INTE".*did you mean AF_INET/],
    [['explain', 'AF_INET'], /takes DOMAIN TYPE \[PROTOCOL\]/],
    [['explain', '2147483648', '1'], /outside int32/],
    [['compare', 'AF_INET', 'SOCK_STREAM', 'IPPROTO_TPC'], /did you mean IPPROTO_TCP/],
    [['sweep', '--format', 'xml'], /"xml" is not one of text, jsonl, junit, html/],
    [['sweep', '--domains', ''], /empty/],
    [['sweep', '--types', '1,1'], /listed twice/],
    [['sweep', '--random', '10', '--domains', '2'], /cannot go with --domains/],
    [['sweep', '--seed', '3'], /--seed goes with --random/],
    [['sweep', '--batch', '0'], /out of range/],
    [['sweep', '--variants', 'bogus'], /unknown variant "bogus"/],
    [['sweep', '--progress', '--no-progress'], /contradict/],
    [['sweep', '--colour'], /unknown option --colour.*did you mean color/],
    [['explain', 'AF_INET', 'SOCK_RAW', '1', '--profile', '/nonexistent/host.json'], /\/nonexistent\/host\.json/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ];
  for (const [args, re] of cases) {
    it(`sockbridge ${args.join(' ')}`, () => {
      const r = run(args);
      assert.ok(r.code === 2 || r.code === 3, `exit ${r.code}: ${r.err}`);
      assert.match(r.err, re);
      assert.doesNotMatch(r.err, /internal error|    at /, 'no stack trace');
    });
  }

  it('an unwritable --out fails before any work, naming the file', () => {
    const r = run(['sweep', '--variants', 'self', '--domains', '1', '--out', '/proc/nonexistent/report.txt']);
    assert.equal(r.code, 3);
    assert.match(r.err, /--out \/proc\/nonexistent\/report\.txt/);
  });

  it('a malformed --profile names the file and the field', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-cli-'));
    try {
      const file = path.join(dir, 'bad.json');
      fs.writeFileSync(file, '{"schema": 1, "takenOn": "a test", "kernel": 5}');
      const r = run(['explain', 'AF_INET', 'SOCK_STREAM', '--profile', file]);
      assert.ok(r.code === 2 || r.code === 3, r.err);
      assert.ok(r.err.includes(file), r.err);
      assert.match(r.err, /kernel/);
      fs.writeFileSync(file, '{not json');
      const r2 = run(['explain', 'AF_INET', 'SOCK_STREAM', '--profile', file]);
      assert.ok(r2.err.includes(file), r2.err);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cli: the output\'s reader goes away (| head)', function () {
  this.timeout(120_000);

  it('sweep --format jsonl into a pipe closed after the first line: exit 141 quietly, no internal error', async () => {
    const child = spawn(process.execPath, [BIN, 'sweep', '--variants', 'self', '--domains', 'AF_UNIX,AF_INET,AF_INET6', '--format', 'jsonl', '--no-progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => { stderr += s; });
    child.stdout!.once('data', () => child.stdout!.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(code, 141, stderr);
    assert.doesNotMatch(stderr, /internal error|EPIPE|    at /);
  });
});
