/**
 * docs/fleet: the Kubernetes manifests and the Ansible play that run the sweep on every node,
 * checked offline with the tools Debian packages. A tool that is not installed makes its test
 * pending with the reason (.ci/run installs yamllint and ansible-core).
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { columnsFromText } from '../lib/diff';

const ROOT = path.resolve(__dirname, '..', '..');
const FLEET = path.join(ROOT, 'docs', 'fleet');

function skipWith(ctx: Mocha.Context, why: string): never {
  console.log(`      pending: ${why}`);
  ctx.skip();
}

function have(cmd: string, args = ['--version']): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return !r.error && r.status === 0;
}

const yamlFiles = (): string[] => {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p); else if (/\.ya?ml$/.test(e.name)) out.push(p);
    }
  };
  walk(FLEET);
  return out.sort();
};

/** The YAML documents of a file as JSON, parsed by python3-yaml (null when python3-yaml is missing). */
function loadYaml(file: string): unknown[] | null {
  const r = spawnSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))', file], { encoding: 'utf8' });
  if (r.status !== 0) {
    if (/No module named .?yaml/.test(r.stderr) || r.error) return null;
    throw new Error(`${file}: ${r.stderr}`);
  }
  return (JSON.parse(r.stdout) as unknown[]).filter((d) => d !== null);
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('docs/fleet: the manifests and the play, checked offline', function () {
  this.timeout(300_000);

  it('has the DaemonSet, the Job, the namespace, the gather script and the play', () => {
    for (const f of ['kubernetes/daemonset.yaml', 'kubernetes/job.yaml', 'kubernetes/namespace.yaml', 'kubernetes/gather.sh', 'ansible/sweep.yml', 'README.md']) {
      assert.ok(fs.existsSync(path.join(FLEET, f)), f);
    }
  });

  it('yamllint (Debian package yamllint) passes every YAML file', function () {
    if (!have('yamllint')) skipWith(this, 'yamllint is not installed (Debian package yamllint; .ci/run installs it)');
    const r = spawnSync('yamllint', ['-f', 'parsable', '-c', path.join(FLEET, '.yamllint'), ...yamlFiles()], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it('ansible-playbook --syntax-check (Debian package ansible-core) accepts the play', function () {
    if (!have('ansible-playbook')) skipWith(this, 'ansible-playbook is not installed (Debian package ansible-core; .ci/run installs it)');
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-ansible-'));
    try {
      const r = spawnSync('ansible-playbook', ['--syntax-check', '-i', 'localhost,', path.join(FLEET, 'ansible', 'sweep.yml')], {
        encoding: 'utf8', env: { ...process.env, HOME: home, ANSIBLE_LOCAL_TEMP: path.join(home, 'tmp'), ANSIBLE_NOCOLOR: '1' },
      });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /playbook: .*sweep\.yml/);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('the Kubernetes objects hang together (structure, with python3-yaml)', function () {
    const docs = new Map<string, Obj[]>();
    for (const f of yamlFiles().filter((x) => x.includes(`${path.sep}kubernetes${path.sep}`))) {
      const d = loadYaml(f);
      if (d === null) skipWith(this, 'python3-yaml is not installed (Debian package python3-yaml, pulled in by yamllint)');
      docs.set(path.basename(f), d as Obj[]);
    }
    const ds = docs.get('daemonset.yaml')![0];
    assert.equal(ds.apiVersion, 'apps/v1');
    assert.equal(ds.kind, 'DaemonSet');
    const labels = ds.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels)) assert.equal(labels[k], v, `selector ${k} matches the pod labels`);
    const pod = ds.spec.template.spec;
    assert.equal(pod.hostNetwork, true, 'the node\'s own network namespace');
    const volumes = new Set((pod.volumes as Obj[]).map((v) => v.name));
    for (const c of [...pod.initContainers, ...pod.containers] as Obj[]) {
      assert.ok(c.image && Array.isArray(c.command), `${c.name}: image and command`);
      for (const m of c.volumeMounts ?? []) assert.ok(volumes.has(m.name), `${c.name} mounts ${m.name}, which exists`);
    }
    const sweep = (pod.initContainers as Obj[]).find((c) => c.name === 'sweep')!;
    assert.equal(sweep.env.find((e: Obj) => e.name === 'NODE_NAME').valueFrom.fieldRef.fieldPath, 'spec.nodeName');
    assert.match(sweep.command.join(' '), /sweep .*--format jsonl .*--out "\/reports\/\$\{NODE_NAME\}\.jsonl"/);
    const job = docs.get('job.yaml')![0];
    assert.equal(job.apiVersion, 'batch/v1');
    assert.equal(job.kind, 'Job');
    assert.equal(job.spec.template.spec.restartPolicy, 'Never');
    const ns = docs.get('namespace.yaml')![0];
    assert.equal(ns.kind, 'Namespace');
    for (const o of [ds, job]) assert.equal(o.metadata.namespace, ns.metadata.name);
  });

  it('kubeconform / kubeval against the Kubernetes schemas', function () {
    const tool = ['kubeconform', 'kubeval'].find((t) => have(t, ['-v']) || have(t, ['--version']));
    if (!tool) {
      skipWith(this, 'neither kubeconform nor kubeval is installed: Debian does not package them (bookworm apt-cache has no candidate) ' +
        'and both fetch the Kubernetes schemas from the network; the structure test above checks the objects instead');
    }
    const files = yamlFiles().filter((x) => x.includes(`${path.sep}kubernetes${path.sep}`));
    const r = spawnSync(tool!, tool === 'kubeconform' ? ['-strict', '-summary', ...files] : ['--strict', ...files], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it('the Job\'s sweep command runs here as written, and its output is a report diff reads', function () {
    if (process.geteuid?.() !== 0) skipWith(this, 'the manifests run the sweep as root; this test needs root to run it the same way');
    const docs = loadYaml(path.join(FLEET, 'kubernetes', 'job.yaml'));
    if (docs === null) skipWith(this, 'python3-yaml is not installed (Debian package python3-yaml)');
    const c = (docs![0] as Obj).spec.template.spec.containers[0];
    assert.deepEqual(c.command.slice(0, 2), ['sh', '-c']);
    const r = spawnSync('sh', ['-c', c.command[2]], { cwd: ROOT, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, timeout: 240_000 });
    assert.equal(r.status, 0, r.stderr);
    const cols = columnsFromText(r.stdout, 'job stdout');
    assert.equal(cols.length, 1);
    assert.equal(cols[0].variant, 'self');
    assert.ok(cols[0].profile, 'the report carries its profile');
    assert.equal(cols[0].cases.length, 49 * 12 * 2 * 16);
  });
});
