/**
 * Host profiles as JSON files: save, load, and strict validation. A malformed profile is
 * rejected with the file, the field path, what was expected and what was found, e.g.
 *   profile.json: kernel.release.value must be a string or null (got 42)
 * so a hand-edited or outdated profile never reaches the model half-read.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Fact, HostProfile, IdMapExtent, LsmEvidence, PolicyOnPath, SeccompFilterInfo, UsernsMaps } from '../types';

export const SUPPORTED_SCHEMAS: readonly number[] = [1];

/** A validator returns the value (typed) or throws ProfileError for the field at `at`. */
type Check<T> = (v: unknown, at: string) => T;

export class ProfileError extends Error {
  constructor(where: string, readonly field: string, readonly expected: string, got: unknown) {
    super(`${where}: ${field} ${expected} (got ${show(got)})`);
    this.name = 'ProfileError';
  }
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing: the field is missing';
  let s: string;
  try { s = JSON.stringify(v); } catch { s = String(v); }
  if (s === undefined) s = String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checker(where: string) {
  const fail = (at: string, expected: string, got: unknown): never => { throw new ProfileError(where, at, expected, got); };

  const str: Check<string> = (v, at) => (typeof v === 'string' ? v : fail(at, 'must be a string', v));
  const int: Check<number> = (v, at) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : fail(at, 'must be an integer', v));
  const uint: Check<number> = (v, at) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : fail(at, 'must be an integer >= 0', v));
  /** An integer >= -1 (-1 = infinity for rlimits). */
  const limit: Check<number> = (v, at) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= -1 ? v : fail(at, 'must be an integer >= -1 (-1 = unlimited)', v));
  /** Large sysctl values (fs.file-max can be 2^63-1, which a JSON number holds only approximately). */
  const bigUint: Check<number> = (v, at) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : fail(at, 'must be an integer >= 0', v));
  const bool: Check<boolean> = (v, at) => (typeof v === 'boolean' ? v : fail(at, 'must be true or false', v));
  const capHex: Check<string> = (v, at) => (typeof v === 'string' && /^[0-9a-f]{16}$/.test(v) ? v : fail(at, 'must be 16 lower-case hex digits (a 64-bit capability mask)', v));

  const arrayOf = <T>(item: Check<T>, what: string): Check<T[]> => (v, at) => {
    if (!Array.isArray(v)) return fail(at, `must be an array of ${what}`, v);
    return v.map((x, i) => item(x, `${at}[${i}]`));
  };
  const pair = <A, B>(a: Check<A>, b: Check<B>, what: string): Check<[A, B]> => (v, at) => {
    if (!Array.isArray(v) || v.length !== 2) return fail(at, `must be a pair ${what}`, v);
    return [a(v[0], `${at}[0]`), b(v[1], `${at}[1]`)];
  };
  const recordOf = <T>(item: Check<T>, what: string): Check<Record<string, T>> => (v, at) => {
    if (!isObj(v)) return fail(at, `must be an object mapping names to ${what}`, v);
    const out: Record<string, T> = {};
    for (const [k, x] of Object.entries(v)) out[k] = item(x, `${at}.${k}`);
    return out;
  };

  /** An object with exactly these fields (optional ones may be absent). */
  const object = <T>(fields: { [K in keyof T]-?: Check<T[K]> }, optional: readonly string[] = []): Check<T> => (v, at) => {
    if (!isObj(v)) return fail(at, 'must be an object', v);
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      if (!(k in fields)) fail(at ? `${at}.${k}` : k, `is not a field of a host profile (known here: ${Object.keys(fields).join(', ')})`, v[k]);
    }
    for (const [k, c] of Object.entries(fields) as Array<[string, Check<unknown>]>) {
      const sub = at ? `${at}.${k}` : k;
      if (!(k in v)) {
        if (optional.includes(k)) continue;
        fail(sub, 'is required', undefined);
      }
      out[k] = c(v[k], sub);
    }
    return out as T;
  };

  const fact = <T>(check: Check<T>, what: string): Check<Fact<T>> => (v, at) => {
    if (!isObj(v)) return fail(at, 'must be a fact: an object {value, source, error?}', v);
    for (const k of Object.keys(v)) {
      if (k !== 'value' && k !== 'source' && k !== 'error' && k !== 'hidden') fail(`${at}.${k}`, 'is not a field of a fact (value, source, error, hidden)', v[k]);
    }
    if (!('value' in v)) fail(`${at}.value`, `is required (${what}, or null when unknown)`, undefined);
    const source = str(v.source, `${at}.source`);
    let value: T | null = null;
    if (v.value !== null) {
      try {
        value = check(v.value, `${at}.value`);
      } catch (e) {
        if (e instanceof ProfileError && e.field === `${at}.value`) fail(`${at}.value`, `must be ${what} or null`, v.value);
        throw e;
      }
    }
    const f: Fact<T> = { value, source };
    if (v.error !== undefined) f.error = str(v.error, `${at}.error`);
    if (value === null && f.error === undefined) fail(`${at}.error`, 'must say why the value is unknown (value is null)', undefined);
    if (v.hidden !== undefined) {
      const h = v.hidden;
      if (!isObj(h)) fail(`${at}.hidden`, 'must be an object {shown, why} (the value the user namespace showed, and why it is not the real one)', h);
      const hh = h as Record<string, unknown>;
      for (const k of Object.keys(hh)) if (k !== 'shown' && k !== 'why') fail(`${at}.hidden.${k}`, 'is not a field of hidden (shown, why)', hh[k]);
      if (value !== null) fail(`${at}.hidden`, 'may be set only when value is null (a hidden fact is unknown)', h);
      f.hidden = { shown: check(hh.shown, `${at}.hidden.shown`), why: str(hh.why, `${at}.hidden.why`) };
    }
    return f;
  };

  return { str, int, uint, limit, bigUint, bool, capHex, arrayOf, pair, recordOf, object, fact, fail };
}

/**
 * Validate parsed JSON as a HostProfile. `where` names the source in errors (the file name).
 * Returns a fresh object holding only the known fields.
 */
export function parseProfile(json: unknown, where: string): HostProfile {
  const c = checker(where);
  if (!isObj(json)) c.fail('profile', 'must be a JSON object', json);
  const j = json as Record<string, unknown>;
  if (!('schema' in j)) c.fail('schema', `is required (supported: ${SUPPORTED_SCHEMAS.join(', ')})`, undefined);
  if (!SUPPORTED_SCHEMAS.includes(j.schema as number)) {
    throw new ProfileError(where, 'schema', `is not a supported profile schema version (supported: ${SUPPORTED_SCHEMAS.join(', ')})`, j.schema);
  }
  const { str, int, uint, limit, bigUint, bool, capHex, arrayOf, pair, recordOf, object, fact, fail } = c;
  const F = fact;
  const uints = arrayOf(uint, 'integers >= 0');
  const strings = arrayOf(str, 'strings');

  const extent = object<IdMapExtent>({ first: uint, lowerFirst: uint, count: uint });
  const extents = arrayOf(extent, 'id map extents {first, lowerFirst, count}');
  const usernsMaps = object<UsernsMaps>({
    uidMap: F(extents, 'an array of {first, lowerFirst, count}'),
    gidMap: F(extents, 'an array of {first, lowerFirst, count}'),
    setgroups: F((v, at) => (v === 'allow' || v === 'deny' ? v : fail(at, 'must be "allow" or "deny"', v)), '"allow" or "deny"'),
    overflowUid: F(uint, 'a uid'),
    overflowGid: F(uint, 'a gid'),
  });
  const HOOKS = ['socket_create', 'socket_post_create'];
  const policyOnPath = object<PolicyOnPath>({
    name: str, detail: str,
    hooks: arrayOf((v, at) => (typeof v === 'string' && HOOKS.includes(v) ? v as PolicyOnPath['hooks'][number] : fail(at, `must be one of ${HOOKS.join(', ')}`, v)), 'hook names'),
    families: uints,
  }, ['families']);
  const lsmEvidence = object<LsmEvidence>({
    lsm: str,
    canRefuse: (v, at) => (v === null || typeof v === 'boolean' ? v : fail(at, 'must be true, false or null', v)),
    why: str, source: str,
    policies: arrayOf(policyOnPath, 'policies {name, detail, hooks, families?}'),
  });

  const profile = object<HostProfile>({
    schema: (v) => v as 1,
    takenOn: str,
    kernel: object<HostProfile['kernel']>({
      release: F(str, 'a string'),
      machine: F(str, 'a string'),
      config: F(recordOf(str, 'strings ("y", "m" or a value)'), 'an object of CONFIG_* -> string'),
    }),
    modules: object<HostProfile['modules']>({
      modprobe: F(str, 'a string'),
      modulesDisabled: F(int, 'an integer'),
      aliases: F(arrayOf(pair(str, str, '[pattern, module]'), '[pattern, module] pairs'), 'an array of [pattern, module] pairs'),
      deps: F(recordOf(strings, 'arrays of module names'), 'an object of module -> dependency names'),
      builtin: F(strings, 'an array of module names'),
      loaded: F(strings, 'an array of module names'),
      failing: F(strings, 'an array of module names'),
    }, ['failing']),
    net: object<HostProfile['net']>({
      families: F(uints, 'an array of family numbers'),
      protocols: F(strings, 'an array of protocol names'),
      netlink: F(uints, 'an array of netlink protocol numbers'),
      pingGroupRange: F(pair(uint, uint, '[low, high] of gids'), 'a pair [low, high]'),
      mptcpEnabled: F(int, 'an integer'),
      netnsIsInit: F(bool, 'true or false'),
      netnsOwnedByCallerUserns: F(bool, 'true or false'),
      netnsInode: F(uint, 'an inode number'),
    }),
    creds: object<HostProfile['creds']>({
      ruid: F(uint, 'a uid'), euid: F(uint, 'a uid'), suid: F(uint, 'a uid'), fsuid: F(uint, 'a uid'),
      rgid: F(uint, 'a gid'), egid: F(uint, 'a gid'), sgid: F(uint, 'a gid'), fsgid: F(uint, 'a gid'),
      groups: F(uints, 'an array of gids'),
      capEffective: F(capHex, '16 lower-case hex digits'),
      capPermitted: F(capHex, '16 lower-case hex digits'),
      capBounding: F(capHex, '16 lower-case hex digits'),
      usernsIsInit: F(bool, 'true or false'),
      usernsInode: F(uint, 'an inode number'),
      usernsLevel: F(uint, 'a user namespace level (0 initial, 1 its child)'),
      usernsMaps,
    }, ['usernsMaps', 'usernsLevel']),
    limits: object<HostProfile['limits']>({
      nofileSoft: F(limit, 'an integer >= -1'),
      nofileHard: F(limit, 'an integer >= -1'),
      fileMax: F(bigUint, 'an integer >= 0'),
      nrOpen: F(uint, 'an integer >= 0'),
      openFds: F(uints, 'an array of fd numbers'),
    }),
    security: object<HostProfile['security']>({
      seccomp: F(int, 'an integer (0 none, 1 strict, 2 filter)'),
      lsms: F(strings, 'an array of LSM names'),
      seccompFilterCount: F(uint, 'the number of seccomp filters'),
      filters: F(arrayOf(seccompFilter(c), 'seccomp filters {name, source, insns}'), 'an array of seccomp filters'),
      lsmEvidence: F(arrayOf(lsmEvidence, 'LSM evidence {lsm, canRefuse, why, source, policies}'), 'an array of LSM evidence'),
    }, ['seccompFilterCount', 'filters', 'lsmEvidence']),
  })(j, '');
  return profile;
}

/** A seccomp filter fact (issue 11): name, source, insns as [code, jt, jf, k], optional rules. */
function seccompFilter(c: ReturnType<typeof checker>): Check<SeccompFilterInfo> {
  const { str, uint, arrayOf, object, fail } = c;
  const u = (max: number, what: string): Check<number> => (v, at) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max ? v : fail(at, `must be ${what}`, v));
  const insn: Check<[number, number, number, number]> = (v, at) => {
    if (!Array.isArray(v) || v.length !== 4) return fail(at, 'must be an instruction [code, jt, jf, k]', v);
    return [u(0xffff, 'a u16 code')(v[0], `${at}[0]`), u(0xff, 'a u8 jt')(v[1], `${at}[1]`), u(0xff, 'a u8 jf')(v[2], `${at}[2]`), u(0xffffffff, 'a u32 k')(v[3], `${at}[3]`)];
  };
  const cond: Check<[number, string, string, string]> = (v, at) => {
    if (!Array.isArray(v) || v.length !== 4) return fail(at, 'must be a condition [arg, op, value, valueTwo]', v);
    return [u(5, 'an argument index 0..5')(v[0], `${at}[0]`), str(v[1], `${at}[1]`), str(v[2], `${at}[2]`), str(v[3], `${at}[3]`)];
  };
  const rule = object<NonNullable<SeccompFilterInfo['rules']>[number]>({
    syscall: str, action: str, ret: uint, conds: arrayOf(cond, 'conditions'), origin: str,
  });
  return object<SeccompFilterInfo>({
    name: str, source: str, insns: arrayOf(insn, 'instructions'), rules: arrayOf(rule, 'rules'), defaultAction: str,
  }, ['rules', 'defaultAction']);
}

/** Read and validate a profile file. Errors name the file. */
export function loadProfile(file: string): HostProfile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${file}: cannot read the host profile (${code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseProfile(json, file);
}

/**
 * Validate and write a profile as JSON (written to a temporary file in the same folder,
 * then renamed, so a reader never sees half a profile).
 */
export function saveProfile(p: HostProfile, file: string): void {
  const checked = parseProfile(p as unknown, `profile to save as ${file}`);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(checked, null, 1) + '\n');
  fs.renameSync(tmp, file);
}
