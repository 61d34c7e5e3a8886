/**
 * Ids seen through a user namespace (kernel/user_namespace.c). The kernel decides on kernel ids
 * (kgid_t); a process sees them through its gid_map, and an id with no mapping is shown as the
 * overflow id (from_kgid_munged). ping_init_sock compares kgids: gid_lte(low, g) && gid_lte(g, high)
 * for the egid and each supplementary group, where ipv4_ping_group_range printed low and high
 * through the same from_kgid_munged. When one of those was hidden, the model must either prove
 * the answer from what the map does show, or branch.
 *
 * What the map proves: a hidden id is one of the ids the map does not cover. The map's lower side
 * is read from inside the namespace, so it is printed in the parent namespace's ids (uid_m_show:
 * from_kgid(parent, lower_first)); they are kernel ids only when the parent is the initial user
 * namespace. The derivation is made only then: when the profile proves level 1
 * (creds.usernsLevel, lib/host/gather.ts usernsLevelFact). In a nested namespace, or one whose
 * level is unknown, the parent's own map (unreadable from here: it prints through the reader's
 * namespace) stands between the lower ids and the kernel ids, so their order, which is all
 * ping_init_sock compares, is unknown: the decision branches. The same holds when nothing was
 * hidden: the ids shown are then compared as they are, which is the kernel's order at level 1
 * only as far as the map keeps it, and beyond level 1 not even that can be checked.
 */
import type { Fact, HostProfile, IdMapExtent } from '../types';

const GID_MAX = 4294967294; // (gid_t)-1 is never a valid id

type Value = { point: number } | { unmapped: true };

/** The kernel id a mapped id of this namespace stands for, or null when unmapped. */
function lower(map: readonly IdMapExtent[], id: number): number | null {
  for (const e of map) if (id >= e.first && id - e.first < e.count) return e.lowerFirst + (id - e.first);
  return null;
}

/** The kernel ids the map does not cover, as sorted [lo, hi] intervals within 0..GID_MAX. */
function uncovered(map: readonly IdMapExtent[]): Array<[number, number]> {
  const covered = map.map((e) => [e.lowerFirst, Math.min(GID_MAX, e.lowerFirst + e.count - 1)] as [number, number]).sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  let next = 0;
  for (const [lo, hi] of covered) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= GID_MAX) out.push([next, GID_MAX]);
  return out;
}

export interface PingThroughUserns {
  /** 'in': ping_init_sock allows; 'out': EACCES; 'either': the map cannot tell. */
  outcome: 'in' | 'out' | 'either';
  /** In words, with the values shown and what they stand for. */
  why: string;
  /** The facts that were hidden. */
  hidden: string[];
  /** What the model branches on when outcome is 'either' (the name of the choice, listed as missing). */
  missing: string;
}

/** Why the profile does not prove that gid_map's lower ids are kernel ids, or null when it does. */
function levelNotProven(p: HostProfile): string | null {
  if (p.creds.usernsIsInit.value === true) return null;
  const level = p.creds.usernsLevel;
  if (level?.value === 1) return null;
  if (!level) return 'level unknown: the profile has no creds.usernsLevel';
  if (level.value !== null) return `level ${level.value}`;
  return `level unknown: ${level.error ?? ''}`;
}

/**
 * ping_init_sock's decision when ping_group_range, the egid or a group was read through a missing
 * mapping, or through a map that does not keep their order, or beyond level 1; null when the
 * facts can be read as they are (ping.ts then compares them).
 */
export function pingThroughUserns(p: HostProfile): PingThroughUserns | null {
  const range = p.net.pingGroupRange;
  const egid = p.creds.egid;
  const groups = p.creds.groups;
  const hiddenNames = [
    range.hidden ? 'net.ipv4.ping_group_range' : null,
    egid.hidden ? 'creds.egid' : null,
    groups.hidden ? 'creds.groups' : null,
  ].filter((x): x is string => x !== null);
  const notLevel1 = levelNotProven(p);
  const LEVEL = 'creds.usernsLevel (gid_map lower ids as kernel ids)';
  if (hiddenNames.length === 0) {
    if (p.creds.usernsIsInit.value !== false) return null;
    if (notLevel1 === null) return throughLevel1Map(p);
    // Nothing hidden, but the ids are compared as this namespace shows them, and beyond level 1
    // no map the process can read says whether that is the kernel's order.
    return {
      outcome: 'either',
      why: `ping_group_range, egid and groups are shown through a user namespace not proven to be a child of the initial one (${notLevel1}): gid_map's lower ids may be a parent namespace's ids, not kernel ids, so the kgid order ping_init_sock compares cannot be derived`,
      hidden: [],
      missing: LEVEL,
    };
  }
  const label = `${hiddenNames.join(', ')} hidden by the user namespace`;
  const missing = `${hiddenNames.join(', ')} (hidden by the user namespace)`;
  if (notLevel1 !== null) {
    return {
      outcome: 'either',
      why: `${label}; gid_map's lower ids are kernel ids only in a child of the initial user namespace, and this one is not proven to be (${notLevel1}): what the hidden ids are, and the kgid order ping_init_sock compares, cannot be derived`,
      hidden: hiddenNames,
      missing: `${missing}; ${LEVEL}`,
    };
  }
  const map = p.creds.usernsMaps?.gidMap.value ?? null;
  const overflow = p.creds.usernsMaps?.overflowGid.value ?? 65534;
  const shownRange = range.value ?? range.hidden?.shown ?? null;
  const shownEgid = egid.value ?? egid.hidden?.shown ?? null;
  const shownGroups = groups.value ?? groups.hidden?.shown ?? null;
  if (!map || !shownRange || shownEgid === null || !shownGroups) {
    return { outcome: 'either', why: `${label}, and ${!map ? 'its gid_map is unknown' : 'a needed fact is unknown'}`, hidden: hiddenNames, missing };
  }
  // Each shown id: a point (its kernel id) when mapped; any uncovered kernel id when it is the
  // unmapped overflow id. (An id equal to the overflow id that is mapped is a point.)
  const val = (shown: number, isHidden: boolean): Value => {
    const k = lower(map, shown);
    if (k !== null) return { point: k };
    if (isHidden && shown === overflow) return { unmapped: true };
    return { unmapped: true }; // not mappable and not the overflow id: the profile contradicts itself; assume nothing
  };
  const low = val(shownRange[0], !!range.hidden);
  const high = val(shownRange[1], !!range.hidden);
  const members = [val(shownEgid, !!egid.hidden), ...shownGroups.map((g) => val(g, !!groups.hidden))];
  const outcome = decide(low, high, members, uncovered(map));
  const show = (v: Value) => ('point' in v ? `kgid ${v.point}` : 'an unmapped kgid');
  const why = `${label}: shown range "${shownRange.join(' ')}" is [${show(low)}, ${show(high)}], egid ${shownEgid} is ${show(members[0])}` +
    (shownGroups.length ? `, groups [${shownGroups.join(',')}]` : '') +
    ` (gid_map ${map.length ? map.map((e) => `${e.first} ${e.lowerFirst} ${e.count}`).join('; ') : 'empty'}): ` +
    (outcome === 'in' ? 'in range for every id the hidden ones can be' : outcome === 'out' ? 'out of range for every id the hidden ones can be' : 'in range for some ids the hidden ones can be and out for others');
  return { outcome, why, hidden: hiddenNames, missing };
}

/**
 * Level 1, nothing hidden: each shown id is mapped, and gid_map gives its kgid. The shown ids are
 * compared as they are (null: ping.ts does) when the map keeps their order; a map whose extents
 * reorder them ("0 1000 1" and "1 5 1": 0 < 1 shown, kgid 1000 > kgid 5) is decided on the kgids.
 */
function throughLevel1Map(p: HostProfile): PingThroughUserns | null {
  const map = p.creds.usernsMaps?.gidMap.value ?? null;
  const range = p.net.pingGroupRange.value;
  const egid = p.creds.egid.value;
  const groups = p.creds.groups.value;
  if (!map || !range || egid === null || !groups) return null; // ping.ts branches on what is unknown
  const shown = [range[0], range[1], egid, ...groups];
  const k = shown.map((id) => lower(map, id));
  if (k.some((x) => x === null)) return null; // not the kernel's view (a shown id is always mapped): read as shown
  const kg = k as number[];
  const keepsOrder = shown.every((a, i) => shown.every((b, j) => (a <= b) === (kg[i] <= kg[j])));
  if (keepsOrder) return null;
  const [low, high, ...members] = kg;
  const outcome = members.some((m) => low <= m && m <= high) ? 'in' : 'out';
  const why = `ping_group_range "${range.join(' ')}" is [kgid ${low}, kgid ${high}], egid ${egid} is kgid ${kg[2]}` +
    (groups.length ? `, groups [${groups.join(',')}] are kgids [${kg.slice(3).join(',')}]` : '') +
    ` (gid_map ${map.map((e) => `${e.first} ${e.lowerFirst} ${e.count}`).join('; ')}, which does not keep the shown ids' order): ` +
    (outcome === 'in' ? 'in range' : 'out of range') + ' in kernel ids, which ping_init_sock compares';
  return { outcome, why, hidden: [], missing: '' };
}

/**
 * Whether some member m has low <= m <= high, over every kernel id each unmapped value can take.
 * The predicate compares values only with <=, so representatives of each stretch of uncovered ids
 * between two known points (its ends, their neighbours and its middle) reach every ordering.
 */
export function decide(low: Value, high: Value, members: Value[], free: Array<[number, number]>): 'in' | 'out' | 'either' {
  const points = [low, high, ...members].filter((v): v is { point: number } => 'point' in v).map((v) => v.point);
  const cuts = [...new Set(points)].sort((a, b) => a - b);
  const reps = new Set<number>();
  for (const [lo, hi] of free) {
    // Split the interval at the known points, then take representatives of each piece.
    let a = lo;
    for (const c of [...cuts.filter((x) => x >= lo && x <= hi), hi + 1]) {
      const b = Math.min(hi, c - 1);
      if (b >= a) for (const r of [a, a + 1, Math.floor((a + b) / 2), b - 1, b]) if (r >= a && r <= b) reps.add(r);
      if (c <= hi) reps.add(c);
      a = c + 1;
    }
  }
  const candidates = [...reps];
  const vars: Value[] = [low, high, ...members];
  const free_ = vars.filter((v) => !('point' in v)).length;
  if (candidates.length === 0 && free_ > 0) return 'either'; // nothing is uncovered: the profile contradicts itself
  if (Math.pow(candidates.length, free_) > 200000) return 'either';
  let sawIn = false;
  let sawOut = false;
  const assign: number[] = new Array(vars.length).fill(0);
  const walk = (k: number): void => {
    if (sawIn && sawOut) return;
    if (k === vars.length) {
      const [l, h, ...ms] = assign;
      if (ms.some((m) => l <= m && m <= h)) sawIn = true; else sawOut = true;
      return;
    }
    const v = vars[k];
    if ('point' in v) { assign[k] = v.point; walk(k + 1); return; }
    for (const c of candidates) { assign[k] = c; walk(k + 1); }
  };
  walk(0);
  return sawIn && sawOut ? 'either' : sawIn ? 'in' : 'out';
}

/** The value a hidden fact was shown as (for display), or its value. */
export function shownOf<T>(f: Fact<T>): T | null {
  return f.value ?? f.hidden?.shown ?? null;
}
