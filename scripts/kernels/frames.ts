/**
 * The guest's data port (its second serial line), parsed. Pure functions of text; see init.sh
 * for the framing:
 *
 *   @@SOCKBRIDGE READY <release> <uptime> <cpus>
 *   @@SOCKBRIDGE <name> BEGIN / base64 of gzip / @@SOCKBRIDGE <name> END <bytes>
 *   @@SOCKBRIDGE <job> RC <exit code> <uptime at start> <uptime at end>
 *   @@SOCKBRIDGE DONE
 */
import * as zlib from 'zlib';

export interface JobEnd { rc: number; start: number; end: number }

export interface GuestOutput {
  /** Set once the guest's /init started: kernel release, uptime (s) at that moment, CPUs. */
  ready?: { release: string; uptime: number; cpus: number };
  /** Complete frames, decoded. */
  frames: Map<string, Buffer>;
  /** Frames that began but did not end, or whose content did not decode: name -> why. */
  broken: Map<string, string>;
  jobs: Map<string, JobEnd>;
  done: boolean;
}

const TAG = '@@SOCKBRIDGE ';

/** Incremental parser: feed chunks as they arrive, read `out` at any time. */
export class FrameParser {
  readonly out: GuestOutput = { frames: new Map(), broken: new Map(), jobs: new Map(), done: false };
  private pending = '';
  private open: { name: string; chunks: string[] } | null = null;

  constructor(private readonly onEvent: (line: string) => void = () => undefined) {}

  push(chunk: string): void {
    this.pending += chunk;
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      this.line(this.pending.slice(0, nl).replace(/\r$/, ''));
      this.pending = this.pending.slice(nl + 1);
    }
  }

  /** The stream ended: anything still open is broken. */
  end(): GuestOutput {
    if (this.pending) this.line(this.pending.replace(/\r$/, ''));
    this.pending = '';
    if (this.open) this.out.broken.set(this.open.name, 'the stream ended inside the frame');
    this.open = null;
    return this.out;
  }

  private line(line: string): void {
    const at = line.indexOf(TAG);
    if (at < 0) {
      if (this.open) this.open.chunks.push(line.trim());
      return;
    }
    const words = line.slice(at + TAG.length).trim().split(/\s+/);
    if (words[0] === 'READY') {
      this.out.ready = { release: words[1] ?? '', uptime: Number(words[2]), cpus: Number(words[3]) };
      this.onEvent(line.slice(at));
      return;
    }
    if (words[0] === 'DONE') {
      this.out.done = true;
      this.onEvent(line.slice(at));
      return;
    }
    const [name, verb] = words;
    if (verb === 'BEGIN') {
      if (this.open) this.out.broken.set(this.open.name, `frame ${name} began before it ended`);
      this.open = { name, chunks: [] };
    } else if (verb === 'END') {
      if (!this.open || this.open.name !== name) {
        this.out.broken.set(name, 'END without BEGIN');
        return;
      }
      const bytes = Number(words[2]);
      try {
        const data = zlib.gunzipSync(Buffer.from(this.open.chunks.join(''), 'base64'));
        if (data.length !== bytes) this.out.broken.set(name, `decoded ${data.length} bytes, the guest sent ${bytes}`);
        else this.out.frames.set(name, data);
      } catch (e) {
        this.out.broken.set(name, `does not decode: ${(e as Error).message}`);
      }
      this.open = null;
    } else if (verb === 'RC') {
      this.out.jobs.set(name, { rc: Number(words[2]), start: Number(words[3]), end: Number(words[4]) });
      this.onEvent(line.slice(at));
    }
  }
}

export function parseGuestOutput(text: string): GuestOutput {
  const p = new FrameParser();
  p.push(text);
  return p.end();
}
