/**
 * sockbridge: predict what socket() will do, step by step, and check it against the kernel.
 *
 * Exit codes: 0 all agree, 1 a mismatch, 2 a usage error, 3 the environment cannot run it
 * (no /proc, addon not built), 130/143 interrupted.
 */
import { UsageError } from './args';
import { NameError } from '../abi/names';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  isTTY: boolean;
}

export const processIo: Io = {
  out: (t) => { process.stdout.write(t); },
  err: (t) => { process.stderr.write(t); },
  isTTY: Boolean(process.stdout.isTTY),
};

const COMMANDS: Record<string, { about: string; run: (argv: string[], io: Io) => Promise<number> }> = {
  host: { about: 'show the host profile the model reasons from (--json to save it)', run: (a, io) => require('./host').runHost(a, io) },
  explain: { about: 'walk the modelled kernel path for one call, step by step', run: (a, io) => require('./explain').runExplain(a, io) },
  compare: { about: 'run one call down both roads and compare field by field', run: (a, io) => require('./explain').runCompare(a, io) },
  sweep: { about: 'compare a whole matrix of calls, in several variants (root, nobody, namespaces, fd limit)', run: (a, io) => require('./sweep').runSweepCommand(a, io) },
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
  const c = COMMANDS[cmd];
  if (!c) {
    const { suggest } = require('../abi/names') as typeof import('../abi/names');
    io.err(`sockbridge: unknown command "${cmd}"${suggest(cmd, Object.keys(COMMANDS), '')}\n\n${usage()}`);
    return 2;
  }
  try {
    return await c.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError || e instanceof NameError || (e instanceof Error && e.name === 'ProfileError')) {
      io.err(`sockbridge ${cmd}: ${e.message.replace(/^sockbridge \w+: /, '')}\n`);
      return 2;
    }
    if (e instanceof EnvironmentError) {
      io.err(`sockbridge ${cmd}: ${e.message}\n`);
      return 3;
    }
    const msg = e instanceof Error ? e.message : String(e);
    if (/native addon is not built|works only on Linux|\/proc/.test(msg)) {
      io.err(`sockbridge ${cmd}: ${msg}\n`);
      return 3;
    }
    throw e;
  }
}

/** The machine cannot do what was asked (no /proc, addon missing, file unwritable). */
export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvironmentError';
  }
}
