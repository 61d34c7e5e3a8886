/**
 * Module autoload as socket() triggers it: request_module() (kernel/module/kmod.c) runs
 * `modprobe -q -- <alias>`, and modprobe resolves the alias against modules.alias, then
 * loads the module after everything modules.dep says it needs.
 *
 * The matching is modprobe's (kmod): alias and pattern normalised ('-' -> '_' outside
 * brackets), then fnmatch(3); module names compare with '-' and '_' as the same character.
 * The matcher itself is lib/host/modalias.ts; this file indexes a profile's aliases once so
 * a prediction does not rescan modules.alias.
 */
import { fnmatch, normalizeAlias } from '../../host/modalias';

/** Module names compare with '-' and '_' as equal (modprobe's underscores()). */
export function normalizeModule(name: string): string {
  return name.replace(/-/g, '_');
}

function hasGlob(p: string): boolean {
  return /[*?[\\]/.test(p);
}

export class ModuleDb {
  private readonly exact = new Map<string, string[]>();
  private readonly globs: Array<[string, string]> = [];
  private readonly deps = new Map<string, string[]>();
  /** module -> its normalised patterns, and whether each is a glob. */
  private readonly byModule = new Map<string, Array<[string, boolean]>>();

  constructor(aliases: ReadonlyArray<readonly [string, string]>, deps: Record<string, string[]>) {
    for (const [raw, mod] of aliases) {
      const m = normalizeModule(mod);
      const pattern = normalizeAlias(raw);
      const glob = hasGlob(pattern);
      if (glob) this.globs.push([pattern, m]);
      else {
        const list = this.exact.get(pattern);
        if (list) list.push(m);
        else this.exact.set(pattern, [m]);
      }
      const own = this.byModule.get(m);
      if (own) own.push([pattern, glob]);
      else this.byModule.set(m, [[pattern, glob]]);
    }
    for (const name of Object.keys(deps)) {
      this.deps.set(normalizeModule(name), deps[name].map(normalizeModule));
    }
  }

  /** Every module whose alias pattern matches `alias`, in modules.alias order (exact ones first). */
  private readonly matchCache = new Map<string, string[]>();

  match(alias: string): string[] {
    const hit = this.matchCache.get(alias);
    if (hit) return hit;
    const out = this.matchUncached(alias);
    this.matchCache.set(alias, out);
    return out;
  }

  private matchUncached(alias: string): string[] {
    const a = normalizeAlias(alias);
    const out: string[] = [];
    const ex = this.exact.get(a);
    if (ex) for (const m of ex) if (!out.includes(m)) out.push(m);
    for (const [p, m] of this.globs) if (fnmatch(p, a) && !out.includes(m)) out.push(m);
    return out;
  }

  /** Does `module` declare an alias that matches `alias`? */
  provides(module: string, alias: string): boolean {
    const pats = this.byModule.get(normalizeModule(module));
    if (!pats) return false;
    const a = normalizeAlias(alias);
    for (const [p, glob] of pats) {
      if (glob ? fnmatch(p, a) : p === a) return true;
    }
    return false;
  }

  /** Whether modules.dep lists the module (i.e. its file exists). */
  hasFile(module: string): boolean {
    return this.deps.has(normalizeModule(module));
  }

  /**
   * The module and everything it needs, dependencies first (modprobe's load order), or null
   * when the module or one of its dependencies has no file.
   */
  closure(module: string): string[] | null {
    const out: string[] = [];
    const seen = new Set<string>();
    const visit = (m: string): boolean => {
      if (seen.has(m)) return true;
      seen.add(m);
      const d = this.deps.get(m);
      if (!d) return false;
      for (const x of d) if (!visit(x)) return false;
      out.push(m);
      return true;
    };
    return visit(normalizeModule(module)) ? out : null;
  }
}
