/**
 * Module autoload as socket() triggers it: request_module() (kernel/module/kmod.c) runs
 * `modprobe -q -- <alias>`, and modprobe resolves the alias against modules.alias, then
 * loads the module after everything modules.dep says it needs.
 *
 * The matching here is modprobe's: an alias pattern is an fnmatch(3) glob; module names
 * compare with '-' and '_' as the same character. (lib/host/modalias.ts did not exist when
 * this was written; this is the minimal matcher the model needs.)
 */

/** Module names compare with '-' and '_' as equal (modprobe's underscores()). */
export function normalizeModule(name: string): string {
  return name.replace(/-/g, '_');
}

function hasGlob(p: string): boolean {
  return /[*?[]/.test(p);
}

/** fnmatch(3) without flags: '*', '?', '[...]' (with '!' or '^' negation). */
export function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      if (body[0] === '!' || body[0] === '^') body = '^' + body.slice(1);
      re += '[' + body.replace(/\\/g, '\\\\') + ']';
      i = close;
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

export class ModuleDb {
  private readonly exact = new Map<string, string[]>();
  private readonly globs: Array<[RegExp, string]> = [];
  private readonly deps = new Map<string, string[]>();
  private readonly byModule = new Map<string, Array<string | RegExp>>();

  constructor(aliases: ReadonlyArray<readonly [string, string]>, deps: Record<string, string[]>) {
    for (const [pattern, mod] of aliases) {
      const m = normalizeModule(mod);
      if (hasGlob(pattern)) this.globs.push([globToRegExp(pattern), m]);
      else {
        const list = this.exact.get(pattern);
        if (list) list.push(m);
        else this.exact.set(pattern, [m]);
      }
      const compiled = hasGlob(pattern) ? globToRegExp(pattern) : pattern;
      const own = this.byModule.get(m);
      if (own) own.push(compiled);
      else this.byModule.set(m, [compiled]);
    }
    for (const name of Object.keys(deps)) {
      this.deps.set(normalizeModule(name), deps[name].map(normalizeModule));
    }
  }

  /** Every module whose alias pattern matches `alias`, in modules.alias order (exact ones first). */
  match(alias: string): string[] {
    const out: string[] = [];
    const ex = this.exact.get(alias);
    if (ex) for (const m of ex) if (!out.includes(m)) out.push(m);
    for (const [re, m] of this.globs) if (re.test(alias) && !out.includes(m)) out.push(m);
    return out;
  }

  /** Does `module` declare an alias that matches `alias`? */
  provides(module: string, alias: string): boolean {
    const pats = this.byModule.get(normalizeModule(module));
    if (!pats) return false;
    for (const p of pats) {
      if (typeof p === 'string' ? p === alias : p.test(alias)) return true;
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
