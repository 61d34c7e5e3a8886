/**
 * Build (or find cached) the static probe for each ABI named, default all four:
 *
 *   node dist/scripts/probe/build.js [--force] [x86_64] [i386] [aarch64] [mips64el]
 *
 * Prints one line per ABI: the binary's path, and whether it was built or cached.
 * Exit 3 when a cross compiler is missing (the message names the Debian package).
 */
import { ABIS, type AbiName } from '../../lib/abi/arch';
import { buildProbe, ToolMissingError } from '../../lib/static-probe/build';

function main(): number {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const abis = args.filter((a) => a !== '--force');
  for (const a of abis) {
    if (!(a in ABIS)) {
      process.stderr.write(`unknown ABI "${a}": expected ${Object.keys(ABIS).join(', ')}\n`);
      return 2;
    }
  }
  const list = (abis.length ? abis : Object.keys(ABIS)) as AbiName[];
  let missing = false;
  for (const abi of list) {
    try {
      const r = buildProbe(abi, { force });
      process.stdout.write(`${abi}\t${r.path}\t${r.built ? 'built' : 'cached'}\t${r.compiler}\n`);
    } catch (e) {
      if (e instanceof ToolMissingError) {
        process.stderr.write(`${abi}: ${e.message}\n`);
        missing = true;
        continue;
      }
      throw e;
    }
  }
  return missing ? 3 : 0;
}

process.exitCode = main();
