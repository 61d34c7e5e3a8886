/**
 * Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe: the
 * browser reads commands on fd 3 and writes replies on fd 4, each a JSON text ended by a NUL).
 * No port is opened and no npm package is needed. Flags per the machine notes: no sandbox (root),
 * no GPU, no background networking, a new empty profile.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Readable, Writable } from 'stream';

export function findChromium(): string | null {
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p)) ?? null;
}

interface Pending { resolve(v: unknown): void; reject(e: Error): void; method: string }

export class Browser {
  private readonly child: ChildProcess;
  private readonly profile: string;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buf = '';
  private session = '';
  readonly stderr: string[] = [];
  private exited = false;

  private constructor(bin: string, width: number, height: number) {
    this.profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-chromium-'));
    this.child = spawn(bin, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic', `--user-data-dir=${this.profile}`,
      '--remote-debugging-pipe', `--window-size=${width},${height}`, 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    (this.child.stderr as Readable).setEncoding('utf8').on('data', (t: string) => { this.stderr.push(t); });
    const out = this.child.stdio[4] as Readable;
    out.setEncoding('utf8');
    out.on('data', (chunk: string) => {
      this.buf += chunk;
      let z: number;
      while ((z = this.buf.indexOf('\0')) >= 0) {
        const msg = JSON.parse(this.buf.slice(0, z)) as { id?: number; result?: unknown; error?: { message: string } };
        this.buf = this.buf.slice(z + 1);
        const p = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
        if (!p) continue;
        this.pending.delete(msg.id!);
        if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p.resolve(msg.result);
      }
    });
    this.child.on('exit', () => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`chromium exited during ${p.method}: ${this.stderr.join('').slice(-2000)}`));
      this.pending.clear();
    });
  }

  /** Start Chromium and attach to its first page. */
  static async open(bin: string, width = 1500, height = 1000): Promise<Browser> {
    const b = new Browser(bin, width, height);
    const { targetInfos } = await b.send('Target.getTargets', {}, false) as { targetInfos: Array<{ targetId: string; type: string }> };
    const page = targetInfos.find((t) => t.type === 'page');
    if (!page) throw new Error('chromium has no page target');
    const { sessionId } = await b.send('Target.attachToTarget', { targetId: page.targetId, flatten: true }, false) as { sessionId: string };
    b.session = sessionId;
    await b.send('Page.enable');
    await b.send('Runtime.enable');
    await b.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    return b;
  }

  send(method: string, params: Record<string, unknown> = {}, inSession = true): Promise<unknown> {
    if (this.exited) return Promise.reject(new Error(`chromium has exited (${method})`));
    const id = this.nextId++;
    const msg: Record<string, unknown> = { id, method, params };
    if (inSession) msg.sessionId = this.session;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(id); reject(new Error(`${method}: no reply in 60 s`)); }, 60_000);
      this.pending.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
        method,
      });
      (this.child.stdio[3] as Writable).write(JSON.stringify(msg) + '\0');
    });
  }

  /** Evaluate an expression in the page; its value (JSON-able) or the exception's text. */
  async eval<T>(expression: string): Promise<T> {
    const r = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }) as {
      result: { value?: T }; exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  async goto(url: string): Promise<void> {
    await this.send('Page.navigate', { url });
    await this.waitFor('document.readyState === "complete"');
  }

  async waitFor(expression: string, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (await this.eval<boolean>(expression)) return;
      if (Date.now() > end) throw new Error(`timed out waiting for ${expression}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** A real click: the mouse moves to (x, y), presses and releases the left button. */
  async click(x: number, y: number): Promise<void> {
    await this.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x, y });
    await this.send('Input.dispatchMouseEvent', { type: 'mousePressed', x, y, button: 'left', buttons: 1, clickCount: 1 });
    await this.send('Input.dispatchMouseEvent', { type: 'mouseReleased', x, y, button: 'left', buttons: 0, clickCount: 1 });
  }

  /** Scroll the element matched by `selector` into view and click its centre. */
  async clickOn(selector: string): Promise<void> {
    const r = await this.eval<{ x: number; y: number } | null>(`(() => { const e = document.querySelector(${JSON.stringify(selector)});
      if (!e) return null; e.scrollIntoView({ block: 'center', inline: 'center' }); const b = e.getBoundingClientRect();
      return { x: b.left + b.width / 2, y: b.top + b.height / 2 }; })()`);
    if (!r) throw new Error(`nothing matches ${selector}`);
    await this.click(r.x, r.y);
  }

  async screenshot(file: string): Promise<void> {
    const { data } = await this.send('Page.captureScreenshot', { format: 'png' }) as { data: string };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Buffer.from(data, 'base64'));
  }

  async close(): Promise<void> {
    if (!this.exited) {
      const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
      await this.send('Browser.close', {}, false).catch(() => undefined);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    fs.rmSync(this.profile, { recursive: true, force: true });
  }
}
