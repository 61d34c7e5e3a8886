/**
 * Run many cases down both roads: predict a batch, observe the same batch in one crossing into
 * the addon, align, and hand each verdict to the reporters.
 *
 * A batch keeps its new fds open until /proc/net has been read once (one table scan per batch,
 * joined by inode), then closes them all at once from worker threads (AF_PACKET closes each wait
 * for an RCU grace period; concurrent closes share them). Because fds stay open within a batch,
 * later cases in the batch get higher fd numbers - the model simulates the same fd table, which it
 * reads from /proc/self/fd (a host fact) before each batch.
 */
import type { HostProfile, Observation, Prediction, SocketCase, Verdict } from '../types';
import { KernelModel } from '../kernel';
import { observeBatch, observationsOf, startObserveBatch, type ObserveBatchOptions, type PendingBatch, type RawBatch } from '../probe';
import { alignCase, alignEnvFromProfile, resultLabel, sameResult, type AlignEnv } from '../bridge/align';
import { readCounters, readSockstatUsed, diffCounters, type Counters } from '../bridge/counters';
import { listOpenFds } from '../bridge/fdtable';
import { alignTrace, predictedCapsOf, describeAgreement, type KernelTrace } from '../ktrace';

export interface SweepOptions {
  profile: HostProfile;
  batchSize?: number;
  closeThreads?: number;
  /** Compare /proc/net/protocols and sockstat counters (exact only in a private netns). */
  counters?: 'exact' | 'shared' | 'off';
  /** The fd table cannot be re-read (RLIMIT_NOFILE exhausted): use the profile's. */
  frozenFdTable?: boolean;
  /** Read /proc/net tables to find each new socket (off when no fd can be opened). */
  procNet?: boolean;
  /** Called after each batch with the number of cases done. */
  onProgress?: (done: number) => void;
  /**
   * An open kernel trace instance recording this thread: each batch's tracepoints are lined up
   * with the model's capability steps (the model then keeps its traces).
   */
  kernelTrace?: KernelTrace;
  /** Checked between batches; when it returns true the sweep stops early (SIGINT). */
  shouldStop?: () => boolean;
  /**
   * Asked for each verdict whose prediction has no trace (the fast path): true re-runs the model
   * with the trace on for that case, in the state the sweep's model had then (fd table, modules).
   * The html report asks once per distinct outcome per cell.
   */
  wantTrace?: (v: Verdict) => boolean;
  /**
   * Make each batch's calls on a thread of the addon's own while this thread predicts that batch
   * and lines up the one before (two CPUs: the kernel road and the comparison at once). The
   * verdicts and their order are the same; each batch's go out while the next batch's calls are
   * made, so onVerdict and wantTrace must then open and close no fd (the kernel's choice of fd
   * numbers is compared) - pure computation and writes to fds already open are fine. Ignored
   * with a kernel trace or under a seccomp filter. Default false.
   */
  overlap?: boolean;
}

export interface BatchCounters {
  firstCase: number;
  cases: number;
  predicted: Counters;
  observed: Counters | null;
  agree: boolean | null;
  note?: string;
}

export interface SweepOutcome {
  completed: boolean;
  cases: number;
  counters: BatchCounters[];
}

/**
 * Sweep `cases` and call `onVerdict` for each, in order. Yields to the event loop between
 * batches so SIGINT/SIGTERM handlers can run.
 */
export async function runSweep(
  cases: Iterable<SocketCase>,
  opts: SweepOptions,
  onVerdict: (v: Verdict, index: number) => void,
): Promise<SweepOutcome> {
  const batchSize = opts.batchSize ?? 2048;
  const ktrace = opts.kernelTrace;
  const model = new KernelModel(opts.profile, { trace: ktrace !== undefined });
  const env: AlignEnv = alignEnvFromProfile(opts.profile);
  const countersMode = opts.counters ?? 'off';
  const overlap = opts.overlap === true && overlapAllowed(opts);
  const out: SweepOutcome = { completed: false, cases: 0, counters: [] };
  let batch: SocketCase[] = [];
  let index = 0;
  let baseline: Counters | null = null;
  /** A batch observed whose verdicts are not out yet (overlap: they go out during the next batch's calls). */
  let held: Observed | null = null;

  const tracer = new ExampleTracer(opts.profile, env);

  /**
   * Line a batch up and hand its verdicts on. With overlap this runs while the next batch's calls
   * are made, before the model predicts that batch (a resync below moves the model's fd table).
   */
  const emit = (b: Observed): void => {
    const { preds, steps, batch: cases, fds, loadedBefore, modulesMoved } = b;
    const obs = b.obs ?? observationsOf(b.raw!);
    /** Where the fd table was resynced from the kernel's after a branching case: [first re-predicted case, its fd table]. */
    let resync: [number, number[]] | null = null;
    /** Whether a case of this batch took another of its possible results than the model's first. */
    let branched = false;
    for (let i = 0; i < cases.length; i++) {
      let v = alignCase(preds[i], obs[i], env);
      if (steps) {
        const st = steps[i];
        const agree = st.found ? (st.caps.agree === null ? null : st.agree) : null;
        v.kernelTrace = { agree, detail: describeAgreement(st) };
        if (agree === false) {
          v.kind = 'MISMATCH';
          v.diffs.push({ field: 'kernel-trace', predicted: preds[i].trace.filter((x) => x.cap).map((x) => `cap ${x.cap!.cap} ${x.cap!.granted ? 'granted' : 'denied'}`).join(', ') || 'no capability check', observed: describeAgreement(st) });
        }
      }
      // A verdict that is not a match gets the model's full trace, so the report can name the
      // deciding step; so does the first case of each outcome of a cell when the report asks.
      // After a resync the state before case i is the resynced table plus the cases since.
      if (!ktrace && (v.kind !== 'MATCH' || (opts.wantTrace && v.prediction.trace.length === 0 && opts.wantTrace(v)))) {
        v = resync && resync[0] <= i
          ? tracer.traced(v, { fds: resync[1], loaded: loadedBefore, modulesMoved, batch: cases.slice(resync[0]), preds: preds.slice(resync[0]), i: i - resync[0] })
          : tracer.traced(v, { fds, loaded: loadedBefore, modulesMoved, batch: cases, preds, i });
      }
      if (v.kind === 'UNSUPPORTED' && !sameResult(preds[i].result, obs[i])) branched = true;
      if (v.kind === 'UNSUPPORTED' && (preds[i].result.fd ?? -1) !== obs[i].fd && i + 1 < cases.length && !opts.frozenFdTable) {
        // The model took one of several possible results and the kernel another: the fds the
        // later cases of the batch get differ by this one. Their predictions are redone from the
        // fd table as it now is (the fds this batch has left open), never from their own outcomes.
        const table = [...fds, ...obs.slice(0, i + 1).filter((o) => o.errno === 0).map((o) => o.fd)];
        model.setOpenFds(table);
        for (let j = i + 1; j < cases.length; j++) preds[j] = model.predict(cases[j], { keepFd: true });
        resync = [i + 1, table];
      }
      onVerdict(v, index++);
    }
    if (branched && countersMode === 'exact') {
      // A case whose outcome the model could not know moved the counters its own way.
      const rec = out.counters[out.counters.length - 1];
      if (rec && rec.firstCase === index - cases.length) {
        rec.agree = null;
        rec.note = 'a case of this batch was UNSUPPORTED (a fact the model needs was unknown) and the kernel chose another of its possible results: counters shown, not compared';
      }
    }
    out.cases += cases.length;
  };

  const flush = async (): Promise<boolean> => {
    if (batch.length === 0) return true;
    const fds = opts.frozenFdTable ? (opts.profile.limits.openFds.value ?? []) : listOpenFds();
    let before: Counters | null = null;
    let during: Counters | null = null;
    let settled = true;
    if (countersMode !== 'off') {
      // A closed socket leaves "sockets: used" only when its sock is freed, which for AF_PACKET
      // and netlink waits for an RCU grace period: let the previous batch's frees land first.
      if (baseline && countersMode === 'exact') settled = waitForSockstat(baseline.sockstatUsed, 2000);
      before = readCounters();
      baseline ??= before;
    }
    ktrace?.collect();
    const readDuring = countersMode !== 'off' ? () => { during = readCounters(); } : undefined;
    const observeOpts: ObserveBatchOptions = {
      close: 'defer',
      closeThreads: opts.closeThreads,
      procNet: opts.procNet !== false,
      whileOpen: readDuring,
    };
    const thisBatch = batch;
    batch = [];
    // With overlap the calls start now on the addon's thread; from here until finishRaw() returns
    // this thread opens and closes no fd: it predicts this batch and lines up the last one.
    const pending: PendingBatch | null = overlap ? startObserveBatch(thisBatch, { ...observeOpts, whileOpen: undefined }) : null;
    let preds: Prediction[];
    let loadedBefore: string[];
    try {
      // The batch before first: its verdicts may resync the model's fd table (see emit).
      if (held) { const h = held; held = null; emit(h); }
      model.setOpenFds(fds);
      loadedBefore = model.loadedModules();
      preds = thisBatch.map((c) => model.predict(c, { keepFd: true }));
    } catch (e) {
      try { pending?.finishRaw(); } catch { /* the first error is the one to report */ }
      throw e;
    }
    // Without overlap the calls are made now; with it their observations are built only when
    // the verdicts are made (emit), while the next batch's calls run.
    const raw = pending ? pending.finishRaw(readDuring) : null;
    const obs = pending ? null : observeBatch(thisBatch, observeOpts);
    const modulesMoved = model.loadedModules().length !== loadedBefore.length;
    model.closeFds(preds.filter((p) => p.facts !== undefined).map((p) => p.facts!.fd));
    if (countersMode !== 'off') {
      const predictedCounters = sumPredictedCounters(preds);
      const observed = before && during ? diffCounters(before, during) : null;
      const agree = observed && settled ? countersEqual(predictedCounters, observed) : null;
      out.counters.push({
        firstCase: index,
        cases: thisBatch.length,
        predicted: predictedCounters,
        observed,
        agree: countersMode === 'exact' ? agree : null,
        note: countersMode === 'shared' ? 'other processes share this network namespace: counters shown, not compared'
          : !settled ? 'sockets closed by the previous batch were still being freed after 2 s: not compared' : undefined,
      });
    }
    // A kernel trace keeps the calls on this thread (overlapAllowed), so obs is there.
    const steps = ktrace && obs
      ? alignTrace(thisBatch, obs.map((o) => ({ errno: o.errno, fd: o.fd })), preds.map(predictedCapsOf), ktrace.collect(), { capTraced: ktrace.capTraced, capHasRet: ktrace.capHasRet })
      : null;
    const observed: Observed = { batch: thisBatch, preds, obs, raw, steps, fds, loadedBefore, modulesMoved };
    if (overlap) held = observed;
    else emit(observed);
    opts.onProgress?.(out.cases);
    await new Promise<void>((r) => setImmediate(r));
    return !(opts.shouldStop?.() ?? false);
  };

  /** The held batch's verdicts (the last batch, or the one observed before a stop). */
  const drain = (): void => {
    if (!held) return;
    const h = held;
    held = null;
    emit(h);
    opts.onProgress?.(out.cases);
  };

  for (const c of cases) {
    batch.push(c);
    if (batch.length >= batchSize) {
      if (!(await flush())) { drain(); return out; }
    }
  }
  if (!(await flush())) { drain(); return out; }
  drain();
  out.completed = true;
  return out;
}

/** One batch observed: what its verdicts are made of. */
interface Observed {
  batch: SocketCase[];
  preds: Prediction[];
  /** The observations, or (overlap) what they are built from when the verdicts are made. */
  obs: Observation[] | null;
  raw: RawBatch | null;
  steps: ReturnType<typeof alignTrace> | null;
  fds: number[];
  loadedBefore: string[];
  modulesMoved: boolean;
}

/**
 * Whether the calls may run on the addon's thread. Not with a kernel trace (it records this
 * thread's tracepoints) and not under a seccomp filter (a TRAP's SIGSYS and a KILL_THREAD act on
 * the calling thread, and the model's answer for them is about the thread that runs the sweep):
 * those run the calls on this thread, as before.
 */
function overlapAllowed(opts: SweepOptions): boolean {
  if (opts.kernelTrace) return false;
  return opts.profile.security.seccomp.value === 0;
}

/**
 * Traces for single cases of a sweep that runs untraced: one traced model, put in the state the
 * sweep's model had before the case - the batch's fd table plus the fds the earlier cases of the
 * batch were predicted to keep, and the modules loaded before the batch. When a module was loaded
 * inside the batch, the batch's earlier cases are replayed so the state is exact (a model made
 * afresh from the profile would miss modules that earlier batches loaded). A traced answer that
 * differs from the fast one is a model bug whatever the kernel said, reported as a MISMATCH,
 * never hidden by the traced answer matching.
 */
class ExampleTracer {
  private traced_: KernelModel | null = null;
  private loadedKey = '';
  constructor(private readonly profile: HostProfile, private readonly env: AlignEnv) {}

  /** Made on first use: a sweep where every case matches and no report asks never builds it. */
  private get model(): KernelModel {
    this.traced_ ??= new KernelModel(this.profile, { trace: true });
    return this.traced_;
  }

  traced(v: Verdict, at: { fds: number[]; loaded: string[]; modulesMoved: boolean; batch: SocketCase[]; preds: Prediction[]; i: number }): Verdict {
    const fast = at.preds[at.i].result;
    let p = at.modulesMoved ? this.replay(at) : this.quick(at);
    if ((p.result.fd !== fast.fd || p.result.errno !== fast.errno) && !at.modulesMoved) p = this.replay(at);
    const out = alignCase(p, v.observation, this.env);
    if (p.result.fd !== fast.fd || p.result.errno !== fast.errno) {
      out.kind = 'MISMATCH';
      out.reason = undefined;
      out.diffs.push({ field: 'model', predicted: `untraced ${resultLabel(fast)}`, observed: `traced ${resultLabel(p.result)}` });
    }
    if (v.kernelTrace) out.kernelTrace = v.kernelTrace;
    return out;
  }

  private setLoaded(loaded: string[]): void {
    const key = loaded.join(',');
    if (key !== this.loadedKey) { this.model.setLoadedModules(loaded); this.loadedKey = key; }
  }

  private quick(at: { fds: number[]; loaded: string[]; preds: Prediction[]; i: number; batch: SocketCase[] }): Prediction {
    this.setLoaded(at.loaded);
    const open = at.fds.slice();
    for (let j = 0; j < at.i; j++) {
      const fd = at.preds[j].result.fd;
      if (fd !== undefined) open.push(fd);
    }
    this.model.setOpenFds(open);
    return this.model.predict(at.batch[at.i]);
  }

  private replay(at: { fds: number[]; loaded: string[]; batch: SocketCase[]; i: number }): Prediction {
    this.setLoaded(at.loaded);
    this.model.setOpenFds(at.fds);
    for (let j = 0; j < at.i; j++) this.model.predict(at.batch[j], { keepFd: true });
    const p = this.model.predict(at.batch[at.i]);
    this.loadedKey = '';
    return p;
  }
}

/** Poll /proc/net/sockstat until "sockets: used" is back to `target` (or below); false on timeout. */
function waitForSockstat(target: number, timeoutMs: number): boolean {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (readSockstatUsed() <= target) return true;
    if (Date.now() > end) return false;
    Atomics.wait(pause, 0, 0, 1);
  }
}

function sumPredictedCounters(preds: Array<{ facts?: { protocolsDelta: Record<string, number>; sockstatUsedDelta: number } }>): Counters {
  const c: Counters = { protocols: {}, sockstatUsed: 0 };
  for (const p of preds) {
    if (!p.facts) continue;
    c.sockstatUsed += p.facts.sockstatUsedDelta;
    for (const [k, n] of Object.entries(p.facts.protocolsDelta)) c.protocols[k] = (c.protocols[k] ?? 0) + n;
  }
  return c;
}

function countersEqual(a: Counters, b: Counters): boolean {
  if (a.sockstatUsed !== b.sockstatUsed) return false;
  const keys = new Set([...Object.keys(a.protocols), ...Object.keys(b.protocols)]);
  for (const k of keys) if ((a.protocols[k] ?? 0) !== (b.protocols[k] ?? 0)) return false;
  return true;
}
