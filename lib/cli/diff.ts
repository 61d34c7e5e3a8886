/**
 * diff: what socket() does differently between hosts, and which kernel step makes the difference.
 *
 *   sockbridge diff A B [C ...]     A, B, ...: sweep reports (jsonl) or host profiles (JSON)
 *
 * Exit codes: 0 no difference, 1 some case differs, 2 usage error or an input that is neither a
 * report nor a profile, 3 an input that cannot be read or an unwritable --out.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs, helpText, opt, choiceOpt, UsageError, type OptionSpec } from './args';
import { EnvironmentError, type Io } from './main';
import { columnsFromText, diffColumns, DiffInputError, type Column } from '../diff';
import { renderDiffHtml, renderDiffJsonl, renderDiffText } from '../diff/render';
import { defaultMatrix, matrixCases, parseAxis, type Matrix } from '../sweep/matrix';
import { parseProfile } from '../host/profile-io';
import type { HostProfile } from '../types';

const FORMATS = ['text', 'jsonl', 'html'] as const;

const OPTS: Record<string, OptionSpec> = {
  format: { value: true, arg: 'FMT', help: 'text (default), jsonl or html' },
  out: { value: true, arg: 'FILE', help: 'write the report to FILE instead of standard output' },
  variants: { value: true, arg: 'LIST', help: 'compare only these variants of the reports (default: every variant they hold)' },
  domains: { value: true, arg: 'LIST', help: 'when only profiles are given: the matrix the model predicts (as sweep; default sweep\'s)' },
  types: { value: true, arg: 'LIST', help: 'as --domains' },
  flags: { value: true, arg: 'LIST', help: 'as --domains' },
  protocols: { value: true, arg: 'LIST', help: 'as --domains' },
  limit: { value: true, arg: 'N', help: 'cases listed per group in the text report (default 12)' },
  help: { value: false, help: 'show this help' },
};

const ABOUT = `Compare what socket() does on several hosts: each input is a sweep report (sockbridge sweep
--format jsonl, from each host) or a host profile (sockbridge host --json: the model predicts it).
Cases whose result or visible facts differ are grouped by family and by the step where each
host's modelled path parts, naming the host fact behind it (release, kernel config, module,
capability, sysctl, namespace, limit). Two inputs give a diff; more give the fleet side by side.
Exit 0 when nothing differs, 1 when some case differs, 2 on a usage error, 3 when an input
cannot be read.`;

/**
 * A report written before reports carried profiles: test:kernels keeps the profile beside the
 * sweep (sweep-root.jsonl next to profile-root.json); use it when it is there.
 */
export function siblingProfile(file: string): ((variant: string) => HostProfile | undefined) {
  const m = /^sweep-(.+)\.jsonl$/.exec(path.basename(file));
  const sib = m ? path.join(path.dirname(file), `profile-${m[1]}.json`) : '';
  return () => {
    if (!sib || !fs.existsSync(sib)) return undefined;
    try {
      return parseProfile(JSON.parse(fs.readFileSync(sib, 'utf8')), sib);
    } catch {
      return undefined;
    }
  };
}

export function readColumns(file: string): Column[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new EnvironmentError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return columnsFromText(text, file, siblingProfile(file));
}

export async function runDiffCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, OPTS, 'diff');
  if (p.options.has('help')) {
    io.out(helpText('diff', 'A B [C ...] [OPTIONS]', ABOUT, OPTS) + '\n');
    return 0;
  }
  if (p.positional.length < 2) {
    throw new UsageError(`diff needs at least two inputs (sweep reports or host profiles), got ${p.positional.length}; e.g. sockbridge diff host-a.jsonl host-b.jsonl`);
  }
  const format = choiceOpt(p, 'format', FORMATS, 'text');
  const limitText = opt(p, 'limit');
  const limit = limitText === undefined ? 12 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 0) throw new UsageError(`--limit: "${limitText}" is not a whole number >= 0`);
  const variants = opt(p, 'variants')?.split(',').map((s) => s.trim());
  if (variants?.some((v) => !v)) throw new UsageError(`--variants: empty name in "${opt(p, 'variants')}"`);
  const m: Matrix = defaultMatrix();
  for (const axis of ['domains', 'types', 'flags', 'protocols'] as const) {
    const v = opt(p, axis);
    if (v !== undefined) m[axis] = parseAxis(v, axis);
  }
  const columns: Column[] = [];
  try {
    for (const f of p.positional) columns.push(...readColumns(f));
  } catch (e) {
    if (e instanceof DiffInputError) throw new UsageError(e.message);
    throw e;
  }
  const outFile = opt(p, 'out');
  let fd: number | undefined;
  if (outFile !== undefined) {
    try {
      fd = fs.openSync(outFile, 'w');
    } catch (e) {
      throw new EnvironmentError(`cannot write the report to --out ${outFile}: ${(e as Error).message}`);
    }
  }
  try {
    let r;
    try {
      r = diffColumns(columns, { matrix: () => matrixCases(m), variants });
    } catch (e) {
      if (e instanceof DiffInputError) throw new UsageError(e.message);
      throw e;
    }
    const text = format === 'jsonl' ? renderDiffJsonl(r) : format === 'html' ? renderDiffHtml(r, `sockbridge diff: ${p.positional.join(' vs ')}`) : renderDiffText(r, limit);
    if (fd !== undefined) fs.writeSync(fd, text); else io.out(text);
    if (fd !== undefined || format !== 'text') {
      io.err(r.cases.length ? `${r.cases.length} cases differ, in ${r.groups.length} groups\n` : 'no difference\n');
    }
    return r.cases.length ? 1 : 0;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
