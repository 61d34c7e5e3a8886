/**
 * net/ipv4/ping.c: ping_init_sock(), the ->init of ping_prot and pingv6_prot.
 *
 * The caller may create an ICMP echo socket when its egid, or any of its supplementary
 * groups, lies in net.ipv4.ping_group_range of the socket's netns (gid_lte(low, g) &&
 * gid_lte(g, high)). There is no capability bypass: root gets EACCES under the default
 * "1 0". IPv6 ping reads the same IPv4 sysctl.
 */
import { EACCES } from '../../../abi/errno';
import type { Run } from '../../ctx';
import { BROKEN_RULES } from '../../testhooks';

const ALL: [number, number] = [0, 4294967294];
const NONE: [number, number] = [1, 0];

export function pingInitSock(run: Run): number {
  const r = pingDecide(run);
  if (!BROKEN_RULES.has('ping_init_sock')) return r;
  // SOCKBRIDGE_TEST_BREAK_RULE=ping_init_sock (lib/kernel/testhooks.ts): the model made wrong on purpose.
  if (r === 0) return run.fail('ping_init_sock', run.tracing ? 'TEST HOOK ping_init_sock: the allowed call is turned into EACCES' : '', EACCES);
  if (run.tracing) run.step({ fn: 'ping_init_sock', what: 'TEST HOOK ping_init_sock: the refused call is turned into a success', outcome: 'pass' });
  return 0;
}

function pingDecide(run: Run): number {
  const through = run.state.pingUserns;
  if (through) {
    // A range end, the egid or a group was shown as the overflow gid: decide on what the gid_map
    // proves (lib/kernel/userns.ts), never on the overflow id itself. Beyond level 1 of user
    // namespaces the map proves nothing about kernel ids: both results.
    let ok: boolean;
    if (through.outcome === 'either') {
      ok = run.choose(through.missing, 2) === 0;
    } else {
      ok = through.outcome === 'in';
    }
    const use = run.tracing ? { name: 'net.ipv4.ping_group_range', value: run.state.profile.net.pingGroupRange.value?.join(' ') ?? `shown ${run.state.profile.net.pingGroupRange.hidden?.shown.join(' ') ?? 'unknown'}`, source: run.state.profile.net.pingGroupRange.source } : undefined;
    const what = run.tracing ? `${through.why}${through.outcome === 'either' ? ` (assumed ${ok ? 'in range' : 'out of range'})` : ''}` : '';
    if (ok) {
      if (run.tracing) run.step({ fn: 'ping_init_sock', what, outcome: 'pass', fact: use });
      return 0;
    }
    return run.fail('ping_init_sock', what, EACCES, use);
  }
  const range = run.fact<[number, number]>('net.ipv4.ping_group_range', [ALL, NONE]);
  const [low, high] = range.value;
  if (low > high) {
    return run.fail('ping_init_sock', run.tracing ? `ping_group_range "${low} ${high}" is empty: nobody may create ping sockets` : '', EACCES, range.use);
  }
  const egid = run.fact<number>('creds.egid', [low, high + 1]);
  if (low <= egid.value && egid.value <= high) {
    if (run.tracing) run.step({ fn: 'ping_init_sock', what: `egid ${egid.value} in ping_group_range [${low}, ${high}]`, outcome: 'pass', fact: range.use });
    return 0;
  }
  const groups = run.fact<number[]>('creds.groups', [[low], []]);
  for (const g of groups.value) {
    if (low <= g && g <= high) {
      if (run.tracing) run.step({ fn: 'ping_init_sock', what: `supplementary group ${g} in ping_group_range [${low}, ${high}]`, outcome: 'pass', fact: range.use });
      return 0;
    }
  }
  return run.fail(
    'ping_init_sock',
    run.tracing ? `neither egid ${egid.value} nor groups [${groups.value.join(',')}] in ping_group_range [${low}, ${high}]` : '',
    EACCES,
    range.use,
  );
}
