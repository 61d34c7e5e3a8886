/**
 * What modprobe does with request_module("net-pf-38"): find the modules whose modules.alias
 * pattern matches the name, then everything they depend on (modules.dep). The model calls
 * these to resolve a request_module() on the socket() path against a host profile.
 *
 * Matching follows kmod: both the requested name and the patterns are normalised ('-' -> '_'
 * outside bracket expressions, as kmod's alias_normalize does before looking in the alias
 * index), then compared with fnmatch(3) semantics and no flags: '*' matches any run of
 * characters (including '/'), '?' one character, '[...]' a set ('!' or '^' negates,
 * 'a-z' ranges, ']' first is literal), and a backslash quotes the next character.
 */

/** kmod's alias_normalize: '-' -> '_' except inside [...]. */
export function normalizeAlias(s: string): string {
  let out = '';
  let inBracket = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inBracket) {
      out += c;
      if (c === ']') inBracket = false;
    } else if (c === '[') {
      inBracket = true;
      out += c;
      // a ']' right after '[' (or after '[!'/'[^') is a member, not the end
      if (s[i + 1] === '!' || s[i + 1] === '^') { out += s[++i]; }
      if (s[i + 1] === ']') { out += s[++i]; }
    } else {
      out += c === '-' ? '_' : c;
    }
  }
  return out;
}

/** Module name as modprobe and /proc/modules spell it: basename without .ko[.xz|.zst|.gz], '-' -> '_'. */
export function moduleNameFromPath(p: string): string {
  const base = p.slice(p.lastIndexOf('/') + 1);
  return base.replace(/\.ko(\.(xz|gz|zst))?$/, '').replace(/-/g, '_');
}

/**
 * Match one bracket expression of `pattern` starting at `pi` (the '[') against `ch`.
 * Returns [matched, index after the closing ']'], or null when the bracket is not closed
 * (fnmatch then treats '[' as an ordinary character).
 */
function matchBracket(pattern: string, pi: number, ch: string): [boolean, number] | null {
  let i = pi + 1;
  let negate = false;
  if (pattern[i] === '!' || pattern[i] === '^') { negate = true; i++; }
  let matched = false;
  let first = true;
  while (i < pattern.length) {
    let c = pattern[i];
    if (c === ']' && !first) {
      return [matched !== negate, i + 1];
    }
    first = false;
    if (c === '[' && pattern[i + 1] === ':') {
      const end = pattern.indexOf(':]', i + 2);
      if (end > 0) {
        const cls = pattern.slice(i + 2, end);
        if (matchClass(cls, ch)) matched = true;
        i = end + 2;
        continue;
      }
    }
    if (c === '\\' && i + 1 < pattern.length) { i++; c = pattern[i]; }
    if (pattern[i + 1] === '-' && i + 2 < pattern.length && pattern[i + 2] !== ']') {
      let hi = pattern[i + 2];
      let next = i + 3;
      if (hi === '\\' && i + 3 < pattern.length) { hi = pattern[i + 3]; next = i + 4; }
      if (ch >= c && ch <= hi) matched = true;
      i = next;
      continue;
    }
    if (ch === c) matched = true;
    i++;
  }
  return null;
}

function matchClass(cls: string, ch: string): boolean {
  switch (cls) {
    case 'alpha': return /[A-Za-z]/.test(ch);
    case 'digit': return /[0-9]/.test(ch);
    case 'alnum': return /[A-Za-z0-9]/.test(ch);
    case 'upper': return /[A-Z]/.test(ch);
    case 'lower': return /[a-z]/.test(ch);
    case 'space': return /\s/.test(ch);
    case 'xdigit': return /[0-9A-Fa-f]/.test(ch);
    case 'punct': return /[!-\/:-@\[-`{-~]/.test(ch);
    default: return false;
  }
}

/** fnmatch(pattern, s, 0). */
export function fnmatch(pattern: string, s: string): boolean {
  let pi = 0;
  let si = 0;
  // Backtracking point for the last '*': where in the pattern to resume, and how much of s it has eaten.
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    if (pi < pattern.length) {
      const c = pattern[pi];
      if (c === '*') {
        starP = ++pi;
        starS = si;
        continue;
      }
      if (c === '?') { pi++; si++; continue; }
      if (c === '[') {
        const r = matchBracket(pattern, pi, s[si]);
        if (r === null) {
          if (s[si] === '[') { pi++; si++; continue; }
        } else if (r[0]) {
          pi = r[1]; si++; continue;
        }
      } else {
        let lit = c;
        let adv = 1;
        if (c === '\\' && pi + 1 < pattern.length) { lit = pattern[pi + 1]; adv = 2; }
        if (lit === s[si]) { pi += adv; si++; continue; }
      }
    }
    if (starP >= 0) {
      pi = starP;
      si = ++starS;
      continue;
    }
    return false;
  }
  while (pi < pattern.length && pattern[pi] === '*') pi++;
  return pi === pattern.length;
}

/**
 * The modules modprobe would load for `name`, in the order it finds them: the module itself
 * when `name` is a module name listed in modules.dep, else every module whose alias pattern
 * matches (modprobe loads all of them), without repeats.
 */
export function resolveAlias(name: string, aliases: ReadonlyArray<readonly [string, string]>,
  deps?: Readonly<Record<string, readonly string[]>>): string[] {
  const norm = normalizeAlias(name);
  if (deps && Object.prototype.hasOwnProperty.call(deps, norm.replace(/-/g, '_'))) return [norm.replace(/-/g, '_')];
  const out: string[] = [];
  for (const [pattern, module] of aliases) {
    if (fnmatch(normalizeAlias(pattern), norm) && !out.includes(module)) out.push(module);
  }
  return out;
}

/**
 * The modules to load for `modules` with everything they depend on, each dependency before
 * the modules that need it. A module missing from modules.dep is reported in `missing`
 * (modprobe fails for it) and not loaded.
 */
export function depClosure(modules: readonly string[], deps: Readonly<Record<string, readonly string[]>>):
  { order: string[]; missing: string[] } {
  const order: string[] = [];
  const missing: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (m: string): void => {
    if (state.has(m)) return; // done, or a dependency cycle (depmod refuses those; be safe)
    if (!Object.prototype.hasOwnProperty.call(deps, m)) {
      if (!missing.includes(m)) missing.push(m);
      return;
    }
    state.set(m, 'visiting');
    for (const d of deps[m]) visit(d);
    state.set(m, 'done');
    order.push(m);
  };
  for (const m of modules) visit(m);
  return { order, missing };
}

/** Whether `pattern` could match some string starting with one of `prefixes` (normalised). */
export function patternCouldMatchPrefix(pattern: string, prefixes: readonly string[]): boolean {
  const p = normalizeAlias(pattern);
  const wild = p.search(/[*?[\\]/);
  const literal = wild < 0 ? p : p.slice(0, wild);
  return prefixes.some((pre) => {
    const n = normalizeAlias(pre);
    return wild < 0 ? literal.startsWith(n) : (literal.startsWith(n) || n.startsWith(literal));
  });
}
