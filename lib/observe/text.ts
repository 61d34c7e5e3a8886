/**
 * Small helpers shared by the /proc text parsers: a parse error that names the file and
 * line, whitespace field splitting, and allocation-free field scanning for the big tables.
 */

/** Text that is not what the kernel prints: names the file, the 1-based line and the line. */
export class ProcParseError extends Error {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, what: string, text: string) {
    const shown = text.length > 200 ? `${text.slice(0, 200)}...` : text;
    super(`${file} line ${line}: ${what}: ${JSON.stringify(shown)}`);
    this.name = 'ProcParseError';
    this.file = file;
    this.line = line;
  }
}

/** The lines of a proc file, without the final empty string after the last newline. */
export function lines(text: string): string[] {
  const out = text.split('\n');
  if (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/** Whitespace-separated fields of a line (seq_printf pads with spaces). */
export function fields(line: string): string[] {
  const t = line.trim();
  return t === '' ? [] : t.split(/\s+/);
}

const SPACE = 32;
const TAB = 9;

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

/**
 * Index of the start of field `n` (0-based) in text[start, end), or -1 if the line has
 * fewer fields. Does not allocate.
 */
export function fieldStart(text: string, start: number, end: number, n: number): number {
  let i = start;
  let seen = -1;
  while (i < end) {
    while (i < end && isBlank(text.charCodeAt(i))) i++;
    if (i >= end) break;
    seen++;
    if (seen === n) return i;
    while (i < end && !isBlank(text.charCodeAt(i))) i++;
  }
  return -1;
}

/** The decimal number starting at text[i], or NaN when no digit is there. Does not allocate. */
export function decimalAt(text: string, i: number, end: number): number {
  let v = 0;
  let digits = 0;
  while (i < end) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
    digits++;
    i++;
  }
  if (digits === 0) return NaN;
  if (i < end && !isBlank(text.charCodeAt(i))) return NaN;
  return v;
}

/** Parse a field that must be a decimal integer (a leading '-' allowed). */
export function dec(s: string, file: string, lineNo: number, line: string, name: string): number {
  if (!/^-?\d+$/.test(s)) throw new ProcParseError(file, lineNo, `${name} is not a decimal number (${JSON.stringify(s)})`, line);
  return Number(s);
}

/** Parse a field that must be hexadecimal digits. */
export function hex(s: string, file: string, lineNo: number, line: string, name: string): number {
  if (!/^[0-9A-Fa-f]+$/.test(s)) throw new ProcParseError(file, lineNo, `${name} is not a hexadecimal number (${JSON.stringify(s)})`, line);
  return parseInt(s, 16);
}

/** Parse a field that must be octal digits. */
export function oct(s: string, file: string, lineNo: number, line: string, name: string): number {
  if (!/^[0-7]+$/.test(s)) throw new ProcParseError(file, lineNo, `${name} is not an octal number (${JSON.stringify(s)})`, line);
  return parseInt(s, 8);
}
