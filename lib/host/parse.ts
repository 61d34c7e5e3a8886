/**
 * Pure parsers for the host files the profile is made of. Each takes the text of one file
 * and returns data; none touches the filesystem, so each is tested on fixture text.
 */
import { moduleNameFromPath } from './modalias';

/** A kernel .config: CONFIG_FOO=y|m|number|"string" lines; "# CONFIG_FOO is not set" means absent. */
export function parseKernelConfig(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('CONFIG_')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    let value = line.slice(eq + 1);
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    }
    out[key] = value;
  }
  return out;
}

/**
 * modules.alias ("alias PATTERN MODULE" lines), keeping only the patterns that could match a
 * name starting with one of `prefixes` (all of them when prefixes is undefined).
 */
export function parseModulesAlias(text: string, prefixes?: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    // A distribution's modules.alias is > 1 MB of pci:/usb:/acpi* lines: test the pattern in
    // place before slicing anything.
    if (text.startsWith('alias ', start) && (!prefixes || prefixes.some((pre) => couldMatchAt(text, start + 6, end, pre)))) {
      const line = text.slice(start + 6, end).trim();
      const sp = line.lastIndexOf(' ');
      if (sp > 0) {
        const pattern = line.slice(0, sp).trim();
        const module = line.slice(sp + 1).trim();
        out.push([pattern, module.replace(/-/g, '_')]);
      }
    }
    start = end + 1;
  }
  return out;
}

/**
 * Whether the alias pattern starting at text[i] could match a name starting with `prefix`:
 * its literal characters up to the first wildcard agree with the prefix ('-' and '_' being
 * the same to modprobe). Same answer as patternCouldMatchPrefix, without allocating.
 */
function couldMatchAt(text: string, i: number, end: number, prefix: string): boolean {
  for (let k = 0; k < prefix.length; k++) {
    if (i + k >= end) return false;
    const c = text[i + k];
    if (c === '*' || c === '?' || c === '[' || c === '\\') return true;
    if (c === ' ') return false;
    const p = prefix[k];
    if (c !== p && !((c === '-' || c === '_') && (p === '-' || p === '_'))) return false;
  }
  return true;
}

/** modules.dep ("path/mod.ko: path/dep.ko ...") as module name -> dependency names. */
export function parseModulesDep(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const mod = moduleNameFromPath(line.slice(0, colon).trim());
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter(Boolean).map(moduleNameFromPath);
    out[mod] = deps;
  }
  return out;
}

/** modules.builtin (one "kernel/net/unix/unix.ko" path per line) as module names. */
export function parseModulesBuiltin(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).map(moduleNameFromPath);
}

/** /proc/modules: the first column of each line. */
export function parseProcModules(text: string): string[] {
  return text.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
}

/** /proc/net/protocols: the "protocol" column (names of registered struct proto), in file order. */
export function parseProcNetProtocols(text: string): string[] {
  const lines = text.split('\n').filter((l) => l.trim());
  if (lines.length === 0 || !/^protocol\s/.test(lines[0])) {
    throw new Error(`not /proc/net/protocols text: the first line should start with "protocol" (got ${JSON.stringify(lines[0] ?? '')})`);
  }
  return lines.slice(1).map((l) => l.trim().split(/\s+/)[0]);
}

export interface NetlinkRow { protocol: number; portid: number; inode: number }

/** /proc/net/netlink rows: "sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode". */
export function parseProcNetNetlink(text: string): NetlinkRow[] {
  const lines = text.split('\n').filter((l) => l.trim());
  if (lines.length === 0 || !/^sk\s+Eth\s+Pid/.test(lines[0])) {
    throw new Error(`not /proc/net/netlink text: the first line should start with "sk Eth Pid" (got ${JSON.stringify(lines[0] ?? '')})`);
  }
  const head = lines[0].trim().split(/\s+/);
  const inodeCol = head.indexOf('Inode');
  return lines.slice(1).map((l) => {
    const f = l.trim().split(/\s+/);
    return { protocol: Number(f[1]), portid: Number(f[2]), inode: inodeCol >= 0 ? Number(f[inodeCol]) : NaN };
  });
}

/** Netlink protocols with a kernel socket (port id 0) in the netns that /proc/net/netlink shows. */
export function kernelNetlinkProtocols(rows: readonly NetlinkRow[]): number[] {
  return [...new Set(rows.filter((r) => r.portid === 0).map((r) => r.protocol))].sort((a, b) => a - b);
}

/** /proc/PID/status as key -> value (value trimmed). */
export function parseStatus(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const c = line.indexOf(':');
    if (c > 0) out[line.slice(0, c)] = line.slice(c + 1).trim();
  }
  return out;
}

/** The numeric columns of a status line such as "Uid:\t0\t0\t0\t0" (real, effective, saved, fs). */
export function statusNumbers(status: Record<string, string>, key: string): number[] | null {
  const v = status[key];
  if (v === undefined) return null;
  const parts = v.split(/\s+/).filter(Boolean).map(Number);
  return parts.every(Number.isFinite) ? parts : null;
}

/** /proc/self/uid_map or gid_map: [inside, outside, count] triples. */
export function parseIdMap(text: string): Array<[number, number, number]> {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const f = l.split(/\s+/).map(Number);
    if (f.length !== 3 || !f.every(Number.isFinite)) throw new Error(`bad id map line ${JSON.stringify(l)}: expected "inside outside count"`);
    return [f[0], f[1], f[2]] as [number, number, number];
  });
}

/** Whether an id map is the identity over all 2^32-1 ids, as in the initial user namespace. */
export function isFullIdentityMap(map: ReadonlyArray<readonly [number, number, number]>): boolean {
  return map.length === 1 && map[0][0] === 0 && map[0][1] === 0 && map[0][2] === 4294967295;
}

/** One integer sysctl file. */
export function parseIntSysctl(text: string, what: string): number {
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) throw new Error(`${what}: expected an integer (got ${JSON.stringify(t)})`);
  return Number(t);
}

/** net.ipv4.ping_group_range: "low\thigh". */
export function parsePingGroupRange(text: string): [number, number] {
  const f = text.trim().split(/\s+/);
  if (f.length !== 2 || !f.every((x) => /^\d+$/.test(x))) {
    throw new Error(`net.ipv4.ping_group_range: expected two integers "low high" (got ${JSON.stringify(text.trim())})`);
  }
  return [Number(f[0]), Number(f[1])];
}

/** /proc/self/limits "Max open files" row: [soft, hard], "unlimited" as -1. */
export function parseLimitsNofile(text: string): [number, number] {
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  if (!line) throw new Error('no "Max open files" row in /proc/self/limits');
  const f = line.slice('Max open files'.length).trim().split(/\s+/);
  const num = (s: string): number => (s === 'unlimited' ? -1 : Number(s));
  const soft = num(f[0]);
  const hard = num(f[1]);
  if (!Number.isFinite(soft) || !Number.isFinite(hard)) throw new Error(`bad "Max open files" row ${JSON.stringify(line)}`);
  return [soft, hard];
}

/** A kernel boot parameter from /proc/cmdline ("lsm=a,b" -> "a,b"); the last one wins, as in the kernel. undefined if absent. */
export function cmdlineParam(cmdline: string, name: string): string | undefined {
  let found: string | undefined;
  // Parameters after a bare "--" go to init, not to the kernel.
  const words = cmdline.trim().split(/\s+/);
  for (const w of words) {
    if (w === '--') break;
    if (w.startsWith(name + '=')) found = w.slice(name.length + 1);
  }
  return found;
}

/** 64-bit capability mask hex as /proc/self/status prints it, normalised to 16 lower-case digits. */
export function normalizeCapHex(hex: string): string {
  const t = hex.trim().toLowerCase();
  if (!/^[0-9a-f]{1,16}$/.test(t)) throw new Error(`capability mask: expected up to 16 hex digits (got ${JSON.stringify(hex)})`);
  return t.padStart(16, '0');
}
