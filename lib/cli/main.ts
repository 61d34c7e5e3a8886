/**
 * sockbridge: predict what socket() will do, step by step, and check it against the kernel.
 *
 * Exit codes: 0 all agree, 1 a mismatch, 2 a usage error, 3 the environment cannot run it
 * (no /proc, addon not built), 130/143 interrupted, 141 the output's reader went away (EPIPE).
 */
import * as fs from 'fs';
import { UsageError } from './args';
import { NameError } from '../abi/names';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  isTTY: boolean;
  /** The terminal's width when `out` is a terminal (COLUMNS, else the tty's size). */
  columns?: number;
}

export const processIo: Io = {
  out: (t) => { process.stdout.write(t); },
  err: (t) => { process.stderr.write(t); },
  // A getter: process.stdout is a stream made on first use, which a report written with --out
  // or a variant's worker never needs.
  get isTTY() { return Boolean(process.stdout.isTTY); },
  get columns() {
    const env = Number(process.env.COLUMNS);
    return Number.isInteger(env) && env > 0 ? env : process.stdout.columns;
  },
};

const COMMANDS: Record<string, { about: string; run: (argv: string[], io: Io) => Promise<number> }> = {
  host: { about: 'show the host profile the model reasons from (--json to save it)', run: (a, io) => require('./host').runHost(a, io) },
  explain: { about: 'walk the modelled kernel path for one call, step by step', run: (a, io) => require('./explain').runExplain(a, io) },
  compare: { about: 'run one call down both roads and compare field by field', run: (a, io) => require('./explain').runCompare(a, io) },
  sweep: { about: 'compare a whole matrix of calls, in several variants (root, nobody, namespaces, fd limit)', run: (a, io) => require('./sweep').runSweepCommand(a, io) },
  diff: { about: 'what socket() does differently between hosts (sweep reports or profiles), and the kernel step behind it', run: (a, io) => require('./diff').runDiffCommand(a, io) },
};

export function usage(): string {
  const lines = [
    'usage: sockbridge COMMAND [ARGS] [OPTIONS]',
    '',
    'sockbridge models how Linux creates a socket - socket() -> __sys_socket -> __sock_create ->',
    'the family\'s create -> sock_map_fd - and checks the model against this machine\'s kernel.',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(9)} ${v.about}`),
    '',
    'examples:',
    '  sockbridge explain AF_PACKET SOCK_RAW 0',
    '  sockbridge explain AF_INET SOCK_DGRAM IPPROTO_ICMP',
    '  sockbridge compare AF_INET SOCK_STREAM|SOCK_CLOEXEC IPPROTO_TCP',
    '  sockbridge sweep --format html --out report.html',
    '  sockbridge host --json > host.json; sockbridge explain AF_CAN SOCK_RAW 1 --profile host.json',
    '  sockbridge diff node-a.jsonl node-b.jsonl     (reports of sockbridge sweep --format jsonl)',
    '',
    'Names are accepted as strace prints them (AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP,',
    'htons(ETH_P_ALL)), and plain numbers too. "sockbridge COMMAND --help" for options.',
  ];
  return lines.join('\n') + '\n';
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    io.out(usage());
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version') {
    io.out(`${require('../../../package.json').version}\n`);
    return 0;
  }
  if (process.platform !== 'linux') {
    // package.json says os: linux; a copy run elsewhere gets one clear line, not a failure deep in a command.
    io.err(`sockbridge ${cmd}: sockbridge works only on Linux: it models and calls the Linux socket() syscall and reads /proc (this is ${process.platform})\n`);
    return 3;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    const { suggest } = require('../abi/names') as typeof import('../abi/names');
    io.err(`sockbridge: unknown command "${cmd}"${suggest(cmd, Object.keys(COMMANDS), '')}\n\n${usage()}`);
    return 2;
  }
  // Messages from below may carry their own "sockbridge: " or "<command>: " prefix; say it once.
  const bare = (m: string) => m.replace(/^sockbridge(?: \w+)?: /, '').replace(new RegExp(`^${cmd}: `), '');
  try {
    return await c.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError || e instanceof NameError || (e instanceof Error && ['ProfileError', 'SeccompProfileError', 'RestrictFamiliesError'].includes(e.name))) {
      io.err(`sockbridge ${cmd}: ${bare(e.message)}\n`);
      return 2;
    }
    if (e instanceof EnvironmentError || (e instanceof Error && (e.name === 'ProcReadError' || e.name === 'SeccompUnavailableError'))) {
      io.err(`sockbridge ${cmd}: ${bare(e.message)}\n`);
      return 3;
    }
    // The reader of the output went away (`sockbridge sweep --format jsonl | head`): stop
    // quietly with the status of a process SIGPIPE ends (node ignores the signal itself).
    if ((e as NodeJS.ErrnoException | null)?.code === 'EPIPE') return 141;
    const msg = e instanceof Error ? e.message : String(e);
    if (/native addon is not built|works only on Linux|\/proc/.test(msg)) {
      io.err(`sockbridge ${cmd}: ${bare(msg)}\n`);
      return 3;
    }
    throw e;
  }
}

/**
 * A live command reads the process's fd table and /proc/net before anything else: when the proc
 * root (/proc, or SOCKBRIDGE_PROC_ROOT) is missing or unreadable, say so once, naming the path,
 * rather than failing later on whichever file came first.
 */
export function requireProcfs(): void {
  const { getProcRoot } = require('../observe/procfs') as typeof import('../observe/procfs');
  const root = getProcRoot();
  const overridden = root !== '/proc';
  const where = overridden ? `the proc root ${root} (set by SOCKBRIDGE_PROC_ROOT or setProcRoot)` : 'procfs mounted at /proc';
  const fix = overridden ? 'point SOCKBRIDGE_PROC_ROOT at a proc tree, or unset it' : 'mount it with "mount -t proc proc /proc"';
  for (const [rel, kind] of [['self/fd', 'dir'], ['self/status', 'file'], ['net/protocols', 'file'], ['net/sockstat', 'file']] as const) {
    const file = `${root}/${rel}`;
    try {
      if (kind === 'dir') fs.readdirSync(file); else fs.closeSync(fs.openSync(file, 'r'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      throw new EnvironmentError(`cannot read ${file} (${code}): sockbridge needs ${where} to see the fd table and the socket tables; ${fix}`);
    }
  }
}

/** The machine cannot do what was asked (no /proc, addon missing, file unwritable). */
export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvironmentError';
  }
}
