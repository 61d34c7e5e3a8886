/**
 * profileFromPackage on the six Debian kernel packages test:kernels boots (5.10, 6.1, 6.12 x
 * generic, cloud), as Debian ships them: lib/modules with plain .ko up to bookworm, merged /usr
 * (usr/lib/modules) with .ko.xz in trixie. A package that is not in the kernel cache is a
 * pending test naming the command that downloads it; nothing is downloaded here.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { KNOWN_KERNELS, kernelCacheRoot, kernelVersionOf, run } from '../scripts/kernels/apt';
import { extractKernel, moduleCompression } from '../scripts/kernels/initramfs';
import { packageModulesDir, profileFromPackage } from '../lib/host';
import { KernelModel } from '../lib/kernel';

const repo = path.resolve(__dirname, '..', '..');
const cache = kernelCacheRoot(repo);

/** The newest cached .deb of a spec (debs/ of the cache, or the cache itself: the older layout). */
function cachedDeb(spec: typeof KNOWN_KERNELS[number]): string | undefined {
  const found: Array<{ file: string; kver: string }> = [];
  for (const dir of [path.join(cache, 'debs'), cache]) {
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir)) {
      const m = /^(linux-image-.+?)_[^_]+_[^_]+\.deb$/.exec(f);
      const kver = m && m[1].endsWith('-unsigned') ? kernelVersionOf(spec, m[1]) : null;
      if (kver) found.push({ file: path.join(dir, f), kver });
    }
  }
  return found.sort((a, b) => a.kver.localeCompare(b.kver, 'en', { numeric: true })).pop()?.file;
}

function skipWith(ctx: Mocha.Context, why: string): never {
  console.log(`      pending: ${why}`);
  ctx.skip();
}

/** Every file under dir, relative. */
function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...walk(dir, r)); else out.push(r);
  }
  return out;
}

describe('profileFromPackage on the Debian kernel packages', function () {
  this.timeout(240_000);
  for (const spec of KNOWN_KERNELS) {
    it(`${spec.id}: reads the package as Debian ships it`, function () {
      const deb = cachedDeb(spec);
      if (!deb) skipWith(this, `no linux-image-${spec.series}.*-${spec.flavour}${spec.arch}-unsigned .deb in ${cache}; ` +
        `"npm run test:kernels -- --kernels ${spec.id}" downloads it (SOCKBRIDGE_KERNEL_CACHE chooses the folder)`);
      if (run('depmod', ['--version']).status !== 0) skipWith(this, 'depmod (Debian package kmod) is not installed; test:kernels installs it');
      const k = extractKernel(deb, path.join(cache, 'extracted'));
      const rel = packageModulesDir(k.root);
      const modDir = path.join(k.root, rel, k.release);
      if (!fs.existsSync(path.join(modDir, 'modules.dep'))) {
        const dm = run('depmod', ['-b', k.root, k.release]);
        assert.strictEqual(dm.status, 0, dm.stderr);
      }
      const files = walk(modDir, 'kernel');
      const kinds = new Set(files.filter((f) => /\.ko(\.\w+)?$/.test(f)).map(moduleCompression));
      // How Debian ships it: merged /usr and xz from trixie (6.12) on, plain lib/modules before.
      if (spec.series === '6.12') {
        assert.strictEqual(rel, 'usr/lib/modules');
        assert.deepStrictEqual([...kinds], ['xz']);
      } else {
        assert.strictEqual(rel, 'lib/modules');
        assert.deepStrictEqual([...kinds], ['']);
      }
      const p = profileFromPackage({ root: k.root, release: k.release, machine: 'x86_64', origin: path.basename(deb) });
      assert.strictEqual(p.kernel.release.value, k.release);
      assert.ok(p.kernel.release.value!.startsWith(spec.series + '.'));
      assert.strictEqual(p.kernel.config.value!.CONFIG_NET, 'y');
      assert.match(p.modules.aliases.source, new RegExp(`${rel}/`));
      // Every module named in the profile's modules.dep is a file of the package, whatever its compression.
      const names = new Map(files.map((f) => [path.basename(f).replace(/\.ko(\.\w+)?$/, '').replace(/-/g, '_'), f]));
      const deps = p.modules.deps.value!;
      assert.ok(Object.keys(deps).length > 5, `${Object.keys(deps).length} modules.dep entries`);
      for (const [m, ds] of Object.entries(deps)) {
        for (const x of [m, ...ds]) assert.ok(names.has(x), `${x} (from modules.dep) is not a file in ${rel}`);
      }
      // The socket-path aliases are there: every Debian flavour builds AF_KEY (net-pf-15) as a module.
      assert.ok(p.modules.aliases.value!.some(([a, mod]) => a === 'net-pf-15' && mod === 'af_key'), 'alias net-pf-15 af_key');
      // And the model runs on it: AF_KEY autoloads af_key, then creates the socket as root.
      const pred = new KernelModel(p).predict({ domain: 15, type: 3, protocol: 2 });
      assert.ok(pred.result.fd !== undefined, JSON.stringify(pred.result));
      assert.ok(pred.trace.some((s) => s.module?.request === 'net-pf-15' && s.module.loaded === 'af_key'));
    });
  }
});
