/**
 * host: the facts the model reasons from, each with its source. --json saves them, so the model
 * can predict for this host elsewhere (sockbridge explain ... --profile FILE).
 */
import * as fs from 'fs';
import { parseArgs, helpText, flag, opt, UsageError, type OptionSpec } from './args';
import { EnvironmentError, requireProcfs, type Io } from './main';
import { gatherHostProfile, formatProfile } from '../host';
import { POLICY_OPTS, policyProfile } from './policy';

const OPTS: Record<string, OptionSpec> = {
  json: { value: false, help: 'print the profile as JSON (the format --profile reads)' },
  out: { value: true, arg: 'FILE', help: 'write to FILE instead of standard output' },
  ...POLICY_OPTS,
  help: { value: false, help: 'show this help' },
};

export async function runHost(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, OPTS, 'host');
  if (flag(p, 'help')) {
    io.out(helpText('host', '[--json] [--out FILE]', 'Show the host profile: kernel release and config, modules, families, capabilities and\nnamespaces, sysctls, limits and the fd table - every fact with where it came from.', OPTS) + '\n');
    return 0;
  }
  if (p.positional.length) throw new UsageError(`host takes no arguments (got "${p.positional[0]}")`);
  requireProcfs();
  // With a policy: the profile as it would be with those filters installed (nothing is installed).
  const notes: string[] = [];
  const profile = policyProfile(gatherHostProfile(), p, notes);
  for (const n of notes) io.err(`note: ${n}\n`);
  const text = flag(p, 'json') ? JSON.stringify(profile, null, 1) + '\n' : formatProfile(profile) + '\n';
  const file = opt(p, 'out');
  if (file === undefined) {
    io.out(text);
  } else {
    try {
      fs.writeFileSync(file, text);
    } catch (e) {
      throw new EnvironmentError(`cannot write --out ${file}: ${(e as Error).message}`);
    }
  }
  return 0;
}
