/**
 * A small, strict argument parser: every option is declared, unknown ones are errors that
 * name the nearest valid option, and values are checked where they are read.
 */
import { suggest } from '../abi/names';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** Takes a value (--out FILE) or is a switch (--json). */
  value: boolean;
  /** May be given more than once (values collected). */
  repeat?: boolean;
  help: string;
  arg?: string;
}

export interface Parsed {
  positional: string[];
  options: Map<string, string[]>;
}

export function parseArgs(argv: string[], spec: Record<string, OptionSpec>, command: string): Parsed {
  const positional: string[] = [];
  const options = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { positional.push(...argv.slice(i + 1)); break; }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const s = spec[name];
      if (!s) {
        throw new UsageError(`${command}: unknown option --${name}${suggest(name, Object.keys(spec), '')}; see "sockbridge ${command} --help"`);
      }
      let val = 'true';
      if (s.value) {
        if (eq >= 0) val = a.slice(eq + 1);
        else {
          if (i + 1 >= argv.length) throw new UsageError(`${command}: --${name} needs a value (${s.arg ?? 'VALUE'})`);
          val = argv[++i];
        }
      } else if (eq >= 0) {
        throw new UsageError(`${command}: --${name} takes no value`);
      }
      const prev = options.get(name);
      if (prev && !s.repeat) throw new UsageError(`${command}: --${name} given twice`);
      options.set(name, [...(prev ?? []), val]);
    } else if (/^-[a-zA-Z]$/.test(a)) {
      if (a === '-h') { options.set('help', ['true']); continue; }
      throw new UsageError(`${command}: unknown option ${a}; options are spelled --name`);
    } else {
      positional.push(a);
    }
  }
  return { positional, options };
}

export function helpText(command: string, synopsis: string, about: string, spec: Record<string, OptionSpec>): string {
  const lines = [`usage: sockbridge ${command} ${synopsis}`, '', about, '', 'options:'];
  for (const [name, s] of Object.entries(spec)) {
    const left = `  --${name}${s.value ? ' ' + (s.arg ?? 'VALUE') : ''}`;
    lines.push(`${left.padEnd(30)} ${s.help}`);
  }
  return lines.join('\n');
}

export function opt(p: Parsed, name: string): string | undefined {
  return p.options.get(name)?.[0];
}

export function flag(p: Parsed, name: string): boolean {
  return p.options.has(name);
}

export function intOpt(p: Parsed, name: string, min: number, max: number): number | undefined {
  const v = opt(p, name);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v.trim())) throw new UsageError(`--${name}: "${v}" is not a whole number (expected ${min}..${max})`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name}: ${v} is out of range (expected ${min}..${max})`);
  return n;
}

export function choiceOpt<T extends string>(p: Parsed, name: string, choices: readonly T[], dflt: T): T {
  const v = opt(p, name);
  if (v === undefined) return dflt;
  if (!(choices as readonly string[]).includes(v)) {
    throw new UsageError(`--${name}: "${v}" is not one of ${choices.join(', ')}${suggest(v, [...choices], '')}`);
  }
  return v as T;
}
