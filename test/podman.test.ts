/**
 * Real containers (issue 11): the default sweep inside a Podman container run by runc, once
 * under Podman's own default profile with its default capabilities, once under a profile
 * carrying Docker's current socket rules. The runtime installs the filter; the model, told
 * which profile that was (--seccomp-in-force), must agree with every call. See
 * scripts/podman/container.ts for the recipe.
 */
import * as assert from 'assert';
import * as path from 'path';
import { podmanUnavailable, runInPodman } from '../scripts/podman/container';

const ROOT = path.resolve(__dirname, '..', '..');

describe('podman + runc: the sweep inside real containers agrees in every case', function () {
  this.timeout(600000);
  before(function () {
    const why = podmanUnavailable();
    if (why) {
      // eslint-disable-next-line no-console
      console.log(`      (pending: ${why})`);
      this.skip();
    }
  });

  it('Podman\'s default profile and capabilities, and Docker 29\'s socket rules: every case MATCH', () => {
    const runs = runInPodman([
      { name: 'podman-default', hostFile: null, insideFile: '/sb/profiles/podman-default.json' },
      { name: 'docker-29', hostFile: path.join(ROOT, 'test', 'fixtures', 'seccomp', 'docker-29.json'), insideFile: '/sb/test/fixtures/seccomp/docker-29.json' },
    ]);
    for (const r of runs) {
      assert.ok(r.summary, `${r.profile}: no summary (exit ${r.status}): ${r.stderr.slice(-1500)}`);
      const s = r.summary as Record<string, number | boolean | string[]>;
      assert.strictEqual(s.completed, true, r.profile);
      assert.deepStrictEqual(r.notMatching.slice(0, 3), [], `${r.profile}: ${s.MISMATCH} MISMATCH, ${s.UNSUPPORTED} UNSUPPORTED, ${s.EXPLAINED} EXPLAINED; notes: ${(s.notes as string[]).join(' | ')}`);
      assert.ok((s.total as number) >= 100000, `${r.profile}: the default matrix ran`);
      assert.strictEqual(s.MATCH, s.total);
      assert.strictEqual(r.status, 0, r.profile);
    }
  });
});
