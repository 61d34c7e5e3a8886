/**
 * net_families[] (net/socket.c): which address families are registered right now.
 *
 * A family is registered when it exists in the release, and it is built in (CONFIG_x=y) or
 * its module is loaded (at profile time, or by an earlier request_module in this run of the
 * model). Without a kernel config the model falls back to the families the profile saw
 * registered (net.families). net_families[] is global: the caller's network namespace
 * does not matter here (families that care check it in ->create).
 */
import type { Run } from '../ctx';
import type { NetProtoFamily } from '../family';
import { parseRelease } from '../release';
import { coreFamilies } from './core';
import { modularFamilies } from './modular';

const table: Array<NetProtoFamily | undefined> = [];
for (const f of [...coreFamilies, ...modularFamilies]) {
  if (table[f.family] && coreFamilies.includes(table[f.family] as NetProtoFamily)) continue;
  table[f.family] = f;
}

/** The modelled implementation of a family number, registered or not. */
export function familyImpl(family: number): NetProtoFamily | undefined {
  return family >= 0 && family < table.length ? table[family] : undefined;
}

/** Whether the release has this piece of code at all (since / removedAfter, by major.minor). */
export function inRelease(run: Run, since?: string, removedAfter?: string): boolean {
  if (since && !run.kernelAtLeast(since)) return false;
  if (removedAfter) {
    const v = parseRelease(removedAfter);
    if (!v) throw new RangeError(`bad removedAfter "${removedAfter}"`);
    const rel = run.state.release;
    if (!rel) return run.choose(`kernel.release <= ${removedAfter}`, 2) === 0;
    if (rel[0] > v[0] || (rel[0] === v[0] && rel[1] > v[1])) return false;
  }
  return true;
}

function registered(run: Run, n: number, f: NetProtoFamily): { reg: boolean; why: string } {
  const tr = run.tracing;
  if (!inRelease(run, f.since, f.removedAfter)) {
    return {
      reg: false,
      why: tr ? `${f.name} does not exist in this release (${f.since ? `since ${f.since}` : ''}${f.removedAfter ? ` removed after ${f.removedAfter}` : ''})` : '',
    };
  }
  const v = run.configValue(f.configSym);
  const alias = `net-pf-${n}`;
  if (v === null) {
    const fams = run.state.lookup('net.families');
    if (fams) {
      const reg = (fams.value as number[]).includes(n) || (f.module !== undefined && run.moduleLoaded(f.module)) || run.aliasSatisfied(alias);
      return { reg, why: tr ? `kernel config unknown; ${reg ? '' : 'not '}registered per net.families (${fams.source})` : '' };
    }
    const reg = run.choose(`net_families[${n}] (${f.configSym})`, 2) === 0;
    return { reg, why: tr ? `kernel config and net.families unknown; assumed ${reg ? '' : 'not '}registered` : '' };
  }
  if (v === 'y') return { reg: true, why: tr ? `built in: ${f.configSym}=y` : '' };
  if (v === 'm') {
    const reg = (f.module !== undefined && run.moduleLoaded(f.module)) || run.aliasSatisfied(alias);
    return { reg, why: tr ? `${f.configSym}=m, module ${f.module ?? '?'} ${reg ? 'loaded' : 'not loaded'}` : '' };
  }
  return { reg: false, why: tr ? `${f.configSym} is not set` : '' };
}

/**
 * rcu_dereference(net_families[family]): the family if registered, else null.
 * Appends the lookup step when tracing.
 */
export function lookupFamily(run: Run, n: number): NetProtoFamily | null {
  const f = familyImpl(n);
  const st = run.state;
  if (!f) {
    if (run.aliasSatisfied(`net-pf-${n}`)) {
      if (run.tracing) {
        run.step({ fn: '__sock_create', what: `a module answered net-pf-${n} but the model has no create for family ${n}; treated as unregistered`, outcome: 'info' });
      }
    } else if (run.tracing) {
      run.step({ fn: '__sock_create', what: `net_families[${n}]: no implementation of family ${n} in this kernel`, outcome: 'info' });
    }
    return null;
  }
  // The cache holds what was true before this call; once request_module loaded something in
  // this call (net-pf-N, then the lookup again), only a fresh look can see the new family.
  if (!run.tracing && run.runLoaded.length === 0 && n < st.famCache.length) {
    const c = st.famCache[n];
    if (c === 1) return f;
    if (c === 0) return null;
  }
  const pos = run.branchPos;
  const { reg, why } = registered(run, n, f);
  if (n < st.famCache.length && run.branchPos === pos && run.runLoaded.length === 0 && run.guessedAliases.length === 0) {
    st.famCache[n] = reg ? 1 : 0;
  }
  if (run.tracing) {
    run.step({
      fn: '__sock_create',
      what: `net_families[${n}] (${f.name}): ${reg ? 'registered' : 'NULL'}, ${why}`,
      outcome: reg ? 'pass' : 'info',
      fact: run.use(f.configSym),
    });
  }
  return reg ? f : null;
}
