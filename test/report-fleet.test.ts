/**
 * Several reports in one html report: `sockbridge diff --format html` (and test:kernels' summary,
 * which is made by the same code) is the sweep's html report with a tab per host and variant and
 * the differences as its first tab. Opened in Debian's headless Chromium: a host's tab is
 * chosen, a cell clicked, and what the panel shows is held against that host's own jsonl report
 * and against `explain --profile <that host's profile> --json` for the example case.
 *
 * The inputs are real: a sweep of this machine as root and as nobody, Debian's 5.10 profile
 * (test/fixtures: the model answers for it), and - when test:kernels has left them in out/kernels
 * (or SOCKBRIDGE_KERNELS_OUT names a folder of them) - the guests' own reports.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { checkAgainstJsonl, explainSteps, openCell, READ_PANEL, shownSteps, type JsonlCase, type ShownPanel } from './helpers/report-panel';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'sockbridge.js');
const FIX = path.join(ROOT, 'test', 'fixtures', 'profiles');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 600_000, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A jsonl report's lines: cases per variant, and each variant's profile line. */
function readReport(file: string): { cases: Map<string, JsonlCase[]>; profiles: Map<string, unknown> } {
  const cases = new Map<string, JsonlCase[]>();
  const profiles = new Map<string, unknown>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line);
    if (r.kind === 'case') {
      const l = cases.get(r.variant) ?? [];
      l.push(r);
      cases.set(r.variant, l);
    } else if (r.kind === 'profile') profiles.set(r.variant, r.profile);
  }
  return { cases, profiles };
}

/** Each example of the panel against explain --json on the report's own profile for its variant. */
function checkAgainstExplain(p: ShownPanel, cases: JsonlCase[], profileFile: string): void {
  for (const o of p.outcomes) {
    const c = cases.find((x) => x.index === o.index && x.call === o.call)!;
    const r = cli(['explain', String(c.domain), String(c.type), String(c.protocol), '--profile', profileFile, '--json']);
    assert.equal(r.code, 0, `explain ${o.call}: ${r.err}`);
    assert.deepEqual(shownSteps(o), explainSteps(JSON.parse(r.out)), `the trace of ${o.call} (${o.kind} ${o.kernel})`);
  }
}

/** Where test:kernels left the guests' reports: every <kernel>/sweep-root.jsonl there. */
function guestReports(): string[] {
  const out = process.env.SOCKBRIDGE_KERNELS_OUT ?? path.join(ROOT, 'out', 'kernels');
  if (!fs.existsSync(out)) return [];
  return fs.readdirSync(out).sort().map((k) => path.join(out, k, 'sweep-root.jsonl')).filter((f) => fs.existsSync(f));
}

describe('report: several hosts in one html report (diff), clicked in headless Chromium', function () {
  this.timeout(20 * 60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-fleet-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const here = path.join(dir, 'here.jsonl');
  let browser: import('./helpers/cdp').Browser | undefined;
  let Browser: typeof import('./helpers/cdp').Browser;
  let bin: string | null = null;
  after(async () => { await browser?.close(); });

  before(async function () {
    const cdp = await import('./helpers/cdp');
    bin = cdp.findChromium();
    Browser = cdp.Browser;
    if (!bin) {
      this.test!.parent!.title += ' (pending: Debian\'s chromium package is not installed; .ci/run installs it)';
      this.skip();
    }
    const r = cli(['sweep', '--variants', 'self,nobody', '--domains', 'AF_UNIX,AF_INET,AF_INET6,AF_NETLINK,AF_PACKET,AF_VSOCK', '--format', 'jsonl', '--out', here, '--no-progress']);
    assert.equal(r.code, 0, r.err);
    browser = await Browser.open(bin!);
  });

  /** The profile line of a report's variant, as a file for explain --profile. */
  function profileFile(report: { profiles: Map<string, unknown> }, variant: string, name: string): string {
    const f = path.join(dir, `${name}-${variant}.json`);
    assert.ok(report.profiles.has(variant), `the report carries the profile of ${variant}`);
    fs.writeFileSync(f, JSON.stringify(report.profiles.get(variant)));
    return f;
  }

  describe('this machine\'s report (self, nobody) beside Debian 5.10\'s profile', () => {
    const html = () => path.join(dir, 'here-5.10.html');
    const mine = () => readReport(here);
    const release = os.release();

    before(async function () {
      if (!browser) this.skip();
      const r = cli(['diff', here, path.join(FIX, 'debian-5.10-generic.json'), '--format', 'html', '--out', html()]);
      assert.equal(r.code, 1, r.err);
      await browser!.goto(`file://${html()}`);
    });

    it('one file, no network; the differences first, then a tab per host and variant named by kernel, flavour and architecture', async () => {
      const text = fs.readFileSync(html(), 'utf8');
      assert.doesNotMatch(text, /<script[^>]+src=|<link[^>]+href=|https?:\/\//, 'self-contained: no external script, style or address');
      const tabs = await browser!.eval<Array<{ label: string; group: string | null; key: string }>>(
        '[...document.querySelectorAll("nav label")].map((l) => ({ label: l.dataset.tab, group: l.dataset.group ?? null, key: l.dataset.key }))');
      assert.equal(tabs[0].label, 'differences');
      const hosts = tabs.slice(1);
      assert.deepEqual(hosts.map((t) => t.label), ['self', 'nobody', 'self (model)', 'nobody (model)']);
      assert.ok(hosts.slice(0, 2).every((t) => t.group!.includes(release) && t.group!.includes(os.machine())), JSON.stringify(hosts));
      assert.ok(hosts.slice(2).every((t) => t.group === '5.10.0-46-amd64 · generic · x86_64'), JSON.stringify(hosts));
      // Without JavaScript the grid is there: every grid tab is a table of links in the page itself.
      assert.equal((text.match(/<table class="grid">/g) ?? []).length, 4);
    });

    it('this machine\'s nobody tab, AF_INET x SOCK_RAW: the outcomes and counts of its jsonl report, the trace explain --profile gives', async () => {
      const rep = mine();
      const tab = await browser!.eval<string>('[...document.querySelectorAll("nav label")].find((l) => l.dataset.tab === "nobody").dataset.key');
      const p = await openCell(browser!, `[data-key="${tab}"]`, 2, 3);
      checkAgainstJsonl(p, rep.cases.get('nobody')!, new RegExp(`${release.replace(/[.+]/g, '\\$&')}.* nobody`), 2, 3);
      assert.ok(p.outcomes.some((o) => o.kernel === 'EPERM'), 'nobody may not make raw sockets');
      checkAgainstExplain(p, rep.cases.get('nobody')!, profileFile(rep, 'nobody', 'here'));
      const shot = path.join(ROOT, 'out', 'report-fleet-cell.png');
      await browser!.screenshot(shot);
      assert.ok(fs.statSync(shot).size > 10_000);
      console.log(`      screenshot of the opened cell: ${shot}`);
    });

    it('without JavaScript: a host\'s tab and a cell still open, and the differences\' case lists still fold out', async () => {
      const b = await Browser.open(bin!);
      try {
        await b.send('Emulation.setScriptExecutionDisabled', { value: true });
        await b.goto(`file://${html()}`);
        const tab = await b.eval<string>('[...document.querySelectorAll("nav label")].find((l) => l.dataset.tab === "self").dataset.key');
        const p = await openCell(b, `[data-key="${tab}"]`, 1, 1);
        assert.ok(p.visible && p.outcomes.length > 0, 'the AF_UNIX x SOCK_STREAM panel is shown');
        assert.equal(await b.eval<number>('document.querySelectorAll("td.sel").length'), 0, 'no script ran (it would mark the open cell)');
        await b.clickOn(`${await b.eval<string>('location.hash')} a.close`);
        await b.clickOn('nav label[data-tab="differences"]');
        await b.clickOn('.dgroup details > summary');
        await b.waitFor('document.querySelector(".dgroup details").open && document.querySelector(".dgroup details tr.case").getClientRects().length > 0');
      } finally {
        await b.close();
      }
    });

    it('the differences tab: each group with its parting and deciding steps on both sides, each side opening its host\'s cell', async () => {
      const b = browser!;
      // Close the panel the last test opened (its ×), as a person would, so it covers nothing.
      const open = await b.eval<string>('location.hash');
      if (open.length > 1) {
        await b.clickOn(`${open} a.close`);
        await b.waitFor('location.hash.length <= 1');
      }
      await b.clickOn('nav label[data-tab="differences"]');
      await b.waitFor('getComputedStyle(document.querySelector(\'section.tab[data-tab="differences"]\')).display === "block"');
      const jl = cli(['diff', here, path.join(FIX, 'debian-5.10-generic.json'), '--format', 'jsonl']);
      const lines = jl.out.trim().split('\n').map((l) => JSON.parse(l));
      const groups = lines.filter((l) => l.kind === 'group');
      const shown = await b.eval<Array<{ id: number; sides: Array<{ result: string; step: string; deciding: string; href: string | null }> }>>(
        `[...document.querySelectorAll('.dgroup')].map((g) => ({ id: Number(g.dataset.group), sides: [...g.querySelectorAll('table.sides tbody tr')].map((tr) => ({
          result: tr.children[1].querySelector('b').textContent, step: tr.children[2].textContent, deciding: tr.children[3].textContent,
          href: tr.children[4].querySelector('a')?.getAttribute('href') ?? null })) }))`);
      assert.equal(shown.length, groups.length, 'every group of the diff');
      for (const g of groups) {
        const s = shown.find((x) => x.id === g.id)!;
        assert.deepEqual(s.sides.map((x) => x.result), g.sides.map((x: { result: string }) => x.result));
        g.sides.forEach((side: { step?: { fn: string; what: string }; deciding?: { fn: string; what: string } }, i: number) => {
          if (side.step) assert.ok(s.sides[i].step.startsWith(`${side.step.fn}: ${side.step.what}`), `${s.sides[i].step}`);
          if (side.deciding) assert.equal(s.sides[i].deciding, `${side.deciding.fn}: ${side.deciding.what}`);
          assert.ok(s.sides[i].href, 'a link to the host\'s cell');
        });
      }
      // Follow a group's link on the 5.10 side: the panel of that cell, with that side's answer among its outcomes.
      const g = groups.find((x) => x.sides[1].result !== x.sides[0].result)!;
      const first = lines.find((l) => l.kind === 'case' && l.group === g.id);
      await b.clickOn(`.dgroup[data-group="${g.id}"] table.sides tbody tr:nth-child(2) a`);
      await b.waitFor('location.hash.length > 1 && getComputedStyle(document.querySelector(location.hash)).display === "block"');
      const p = await b.eval<ShownPanel>(READ_PANEL);
      assert.ok(p.visible);
      assert.equal(p.domain, first.domain);
      assert.equal(p.type, first.type & 0xf);
      assert.match(p.where, /5\.10\.0-46-amd64/);
      assert.ok(p.outcomes.some((o) => o.kind === 'MODEL' && o.model === g.sides[1].result), `${g.sides[1].result} among ${p.outcomes.map((o) => o.model)}`);
    });
  });

  describe('the Debian guests\' own reports (test:kernels), with this machine\'s', () => {
    const html = () => path.join(dir, 'guests.html');
    let guests: string[] = [];

    before(async function () {
      if (!browser) this.skip();
      guests = guestReports();
      if (guests.length < 2) {
        this.test!.parent!.title += ` (pending: fewer than two guest reports in ${process.env.SOCKBRIDGE_KERNELS_OUT ?? 'out/kernels'}; "npm run test:kernels" writes them)`;
        this.skip();
      }
      const r = cli(['diff', ...guests, here, '--variants', 'self', '--format', 'html', '--out', html()]);
      assert.ok(r.code === 0 || r.code === 1, r.err);
      await browser!.goto(`file://${html()}`);
    });

    /** Switch to the tab of `file`'s guest and user (`label`), click AF_INET x SOCK_RAW, and hold the panel against that report and explain --profile. */
    async function checkGuestTab(file: string, label: string): Promise<void> {
      const rep = readReport(file);
      const release = (JSON.parse(fs.readFileSync(file, 'utf8').split('\n')[0]) as { host: { release: string } }).host.release;
      const tab = await browser!.eval<string>(`[...document.querySelectorAll("nav label")].find((l) => (l.dataset.group ?? '').startsWith(${JSON.stringify(release)}) && l.dataset.tab === ${JSON.stringify(label)}).dataset.key`);
      const p = await openCell(browser!, `[data-key="${tab}"]`, 2, 3);
      checkAgainstJsonl(p, rep.cases.get('self')!, new RegExp(`${release.replace(/[.+]/g, '\\$&')}.* ${label}`), 2, 3);
      checkAgainstExplain(p, rep.cases.get('self')!, profileFile(rep, 'self', `${path.basename(path.dirname(file))}-${label}`));
    }

    it('a guest\'s tab, AF_INET x SOCK_RAW: the outcomes and counts of that guest\'s jsonl report, the trace explain --profile gives on its profile', async () => {
      const size = fs.statSync(html()).size;
      const ms = await browser!.eval<number>('performance.getEntriesByType("navigation")[0].duration');
      console.log(`      ${guests.length} guests and this machine: ${size} bytes, loaded in ${ms.toFixed(0)} ms`);
      // The last guest: not the first tab, so the tab is really switched.
      await checkGuestTab(guests[guests.length - 1], 'self');
      await browser!.screenshot(path.join(ROOT, 'out', 'report-fleet-guest.png'));
    });

    it('an offline grid (test:kernels\' offline comparison) counts what scripts/kernels/offline.ts counts (cases, matches, mismatches)', async () => {
      const { loadModelLib, offlineAgreement, parseSweepJsonl } = await import('../scripts/kernels/offline');
      const { tallyFromReport } = await import('../lib/sweep/report-read');
      const { alignEnvFromProfile } = await import('../lib/bridge/align');
      const { parseProfile } = await import('../lib/host/profile-io');
      const file = guests[0];
      const text = fs.readFileSync(file, 'utf8');
      const rep = parseSweepJsonl(text, file);
      const prof = readReport(file).profiles.get('self');
      assert.ok(prof, 'the guest report carries its profile');
      const profile = parseProfile(prof, file);
      const batch = (rep.header as { batch: number }).batch;
      const { agreement } = offlineAgreement(loadModelLib(ROOT), profile, rep, batch);
      const t = tallyFromReport({ variant: 'self', lines: rep.cases as never, profile, batch, completed: true, align: alignEnvFromProfile(profile) });
      assert.equal(t.totals.total, agreement.cases);
      assert.equal(t.totals.MATCH, agreement.match);
      assert.equal(t.totals.MISMATCH, agreement.mismatch);
    });

    it('test:kernels\' summary.html, by the same code: the run, the differences as root and as user, then a tab per kernel and user; a guest\'s user tab checked the same way', async () => {
      const { writeSummary } = await import('../scripts/kernels/summary');
      const dirs = guests.map((f) => path.dirname(f)).filter((d) => fs.existsSync(path.join(d, 'outcome.json')) && fs.existsSync(path.join(d, 'sweep-user.jsonl')));
      assert.ok(dirs.length >= 2, `outcome.json and sweep-user.jsonl beside the reports in ${dirs}`);
      const outcomes = dirs.map((d) => ({ ...JSON.parse(fs.readFileSync(path.join(d, 'outcome.json'), 'utf8')), outDir: d }));
      const out = path.join(dir, 'summary');
      writeSummary(outcomes, out, 0, 'from the reports an earlier run left');
      const file = path.join(out, 'summary.html');
      await browser!.goto(`file://${file}`);
      const tabs = await browser!.eval<Array<{ label: string; group: string | null }>>('[...document.querySelectorAll("nav label")].map((l) => ({ label: l.dataset.tab, group: l.dataset.group ?? null }))');
      assert.deepEqual(tabs.slice(0, 3).map((t) => t.label), ['the run', 'differences as root', 'differences as user']);
      // A tab per kernel and user; an offline one beside it where the run's offline comparison did not agree in every case.
      const offline = (o: { agreement?: Record<string, Record<string, { match: number; cases: number }>> }, v: string) => {
        const a = o.agreement?.offline?.[v];
        return a !== undefined && a.match < a.cases;
      };
      assert.deepEqual(tabs.slice(3).map((t) => t.label), outcomes.flatMap((o) => ['root', ...(offline(o, 'root') ? ['root offline'] : []), 'user', ...(offline(o, 'user') ? ['user offline'] : [])]));
      const releases = dirs.map((d) => (JSON.parse(fs.readFileSync(path.join(d, 'sweep-root.jsonl'), 'utf8').split('\n')[0]) as { host: { release: string } }).host.release);
      assert.deepEqual(tabs.slice(3).filter((t) => t.label === 'root').map((t) => t.group!.split(' · ')[0]), releases, 'grouped under each kernel, in the run\'s order');
      // The run tab keeps the kernels side by side.
      const run = await browser!.eval<string[]>('[...document.querySelectorAll("section[data-key=run] table.run thead th")].map((th) => th.textContent)');
      assert.deepEqual(run.slice(1), outcomes.map((o) => o.id));
      console.log(`      summary.html of ${dirs.length} guests: ${fs.statSync(file).size} bytes`);
      await checkGuestTab(path.join(dirs[0], 'sweep-user.jsonl'), 'user');
      await browser!.screenshot(path.join(ROOT, 'out', 'report-kernels-user.png'));
    });
  });
});
