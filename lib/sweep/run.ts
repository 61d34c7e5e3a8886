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
import { KernelModel, plainPrediction } from '../kernel';
import { observeBatchRaw, observationAt, preparePipelineBatch, preparePipelineColumns, startPipelineBatch, closeOpenBatch, DEFAULT_CLOSE_THREADS, type PipelineBatch, type RawBatch } from '../probe';
import { getProcRoot } from '../observe/procfs';
import type { NativeCounterTexts } from '../native';
import { alignCase, alignEnvFromProfile, resultLabel, sameResult, type AlignEnv } from '../bridge/align';
import { readCounters, readSockstatUsed, diffCounters, countersFromTexts, type Counters } from '../bridge/counters';
import { listOpenFds } from '../bridge/fdtable';
import { MatrixCases } from './matrix';
// The align part only: the tracing itself (tracefs, dmesg) loads when a sweep asks for a kernel trace.
import { alignTrace, predictedCapsOf, describeAgreement } from '../ktrace/align';
import type { KernelTrace } from '../ktrace';

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
   * Run the kernel side of the sweep on a thread of the addon's own, up to 16 batches ahead of
   * this thread, which predicts and lines them up (two CPUs: the kernel road and the comparison
   * at once; see pipelined). The verdicts and their order are the same; they go out while later
   * batches' calls are made, so onVerdict, onPlainMatch, onProgress and wantTrace must then open
   * and close no fd (the kernel's choice of fd numbers is compared) - pure computation and writes
   * to fds already open are fine. Ignored with a kernel trace or under a seccomp filter. Default false.
   */
  overlap?: boolean;
  /**
   * Called instead of onVerdict for a plain match: the model's prediction is plain (an errno on the
   * one path the facts allow: KernelModel.predictLean) and the kernel's call failed with the same
   * errno. Its verdict would be plainMatch(c, errno); no verdict, prediction or observation object
   * is made for it (nearly every case of a sweep). Not used with wantTrace or a kernel trace.
   */
  onPlainMatch?: (c: SocketCase, errno: number, index: number) => void;
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
  let index = 0;
  let baseline: Counters | null = null;

  const tracer = new ExampleTracer(opts.profile, env);

  const plainHook = ktrace || opts.wantTrace ? undefined : opts.onPlainMatch;

  /**
   * Line up cases b.next .. b.next + limit - 1 of a predicted batch and hand their verdicts on;
   * true when the batch is done. The model predicts the next batch only after that.
   */
  const emitSome = (b: Observed, limit: number): boolean => {
    const { lean, steps, batch: cases, fds, loadedBefore, modulesMoved } = b;
    const r = b.raw.r;
    const end = Math.min(cases.length, b.next + limit);
    for (let i = b.next; i < end; i++) {
      const x = lean[i];
      if (plainHook !== undefined && typeof x === 'number' && r.errno[i] === x && r.signal[i] === 0) {
        plainHook(cases[i], x, index++);
        continue;
      }
      const pred = predAt(b, i);
      const ob = obsAt(b, i);
      let v = alignCase(pred, ob, env);
      if (steps) {
        const st = steps[i];
        const agree = st.found ? (st.caps.agree === null ? null : st.agree) : null;
        v.kernelTrace = { agree, detail: describeAgreement(st) };
        if (agree === false) {
          v.kind = 'MISMATCH';
          v.diffs.push({ field: 'kernel-trace', predicted: pred.trace.filter((x) => x.cap).map((x) => `cap ${x.cap!.cap} ${x.cap!.granted ? 'granted' : 'denied'}`).join(', ') || 'no capability check', observed: describeAgreement(st) });
        }
      }
      // A verdict that is not a match gets the model's full trace, so the report can name the
      // deciding step; so does the first case of each outcome of a cell when the report asks.
      // After a resync the state before case i is the resynced table plus the cases since.
      const resync = b.resync;
      if (!ktrace && (v.kind !== 'MATCH' || (opts.wantTrace && v.prediction.trace.length === 0 && opts.wantTrace(v)))) {
        const preds = allPreds(b);
        v = resync && resync[0] <= i
          ? tracer.traced(v, { fds: resync[1], loaded: loadedBefore, modulesMoved, batch: cases.slice(resync[0]), preds: preds.slice(resync[0]), i: i - resync[0] })
          : tracer.traced(v, { fds, loaded: loadedBefore, modulesMoved, batch: cases, preds, i });
      }
      if (v.kind === 'UNSUPPORTED' && !sameResult(pred.result, ob)) b.branched = true;
      if (v.kind === 'UNSUPPORTED' && (pred.result.fd ?? -1) !== ob.fd && i + 1 < cases.length && !opts.frozenFdTable) {
        // The model took one of several possible results and the kernel another: the fds the
        // later cases of the batch get differ by this one. Their predictions are redone from the
        // fd table as it now is (the fds this batch has left open), never from their own outcomes.
        const table = [...fds];
        for (let k = 0; k <= i; k++) { const o = obsAt(b, k); if (o.errno === 0) table.push(o.fd); }
        model.setOpenFds(table);
        for (let j = i + 1; j < cases.length; j++) lean[j] = model.predictLean(cases[j], true);
        b.resync = [i + 1, table];
      }
      onVerdict(v, index++);
    }
    b.next = end;
    if (end < cases.length) return false;
    if (b.branched && countersMode === 'exact') {
      // A case whose outcome the model could not know moved the counters its own way.
      const rec = out.counters[out.counters.length - 1];
      if (rec && rec.firstCase === index - cases.length) {
        rec.agree = null;
        rec.note = 'a case of this batch was UNSUPPORTED (a fact the model needs was unknown) and the kernel chose another of its possible results: counters shown, not compared';
      }
    }
    out.cases += cases.length;
    return true;
  };

  /** Predict cases b.predictedUpTo .. + limit - 1 (the first from the batch's fd table); true when all are. */
  const predictSome = (b: Observed, limit: number): boolean => {
    const cases = b.batch;
    const n = cases.length;
    if (b.predictedUpTo === 0) {
      model.setOpenFds(b.fds);
      b.loadedBefore = model.loadedModules();
    }
    const end = Math.min(n, b.predictedUpTo + limit);
    for (let i = b.predictedUpTo; i < end; i++) b.lean[i] = model.predictLean(cases[i], true);
    b.predictedUpTo = end;
    if (end < n) return false;
    // The model forgets the batch's fds, and the batch's counters are recorded.
    b.modulesMoved = model.loadedModules().length !== b.loadedBefore.length;
    const made: Prediction[] = [];
    for (const x of b.lean) if (typeof x !== 'number' && x.facts !== undefined) made.push(x);
    model.closeFds(made.map((p) => p.facts!.fd));
    if (countersMode !== 'off') {
      const predictedCounters = sumPredictedCounters(made);
      const { before, during, settled } = b;
      const observed = before && during ? diffCounters(before, during) : null;
      const agree = observed && settled ? countersEqual(predictedCounters, observed) : null;
      out.counters.push({
        firstCase: index,
        cases: n,
        predicted: predictedCounters,
        observed,
        agree: countersMode === 'exact' ? agree : null,
        note: countersMode === 'shared' ? 'other processes share this network namespace: counters shown, not compared'
          : !settled ? 'sockets closed by the previous batch were still being freed after 2 s: not compared' : undefined,
      });
    }
    return true;
  };

  if (overlap) {
    out.completed = await pipelined(cases, opts, batchSize, countersMode, {
      predictSome, emitSome,
      baseline: () => baseline,
      setBaseline: (c) => { baseline ??= c; },
      progress: () => opts.onProgress?.(out.cases),
    });
    return out;
  }

  let batch: SocketCase[] = [];
  /** One batch on this thread: fd table, counters, predictions, calls, verdicts. */
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
    const thisBatch = batch;
    batch = [];
    // The calls, then the predictions: the model reads the fd table taken before the calls (as the
    // pipeline's does), never their outcomes.
    const raw = observeBatchRaw(thisBatch, { close: 'defer', closeThreads: opts.closeThreads, procNet: opts.procNet !== false },
      countersMode !== 'off' ? () => { during = readCounters(); } : undefined);
    const b = observed(fds, raw);
    b.before = before;
    b.during = during;
    b.settled = settled;
    predictSome(b, Infinity);
    // A kernel trace keeps the calls on this thread (overlapAllowed).
    if (ktrace) {
      const r = b.raw.r;
      const errs = Array.from(r.errno, (e, i) => ({ errno: e, fd: e === 0 ? r.fd[i] : -1 }));
      b.steps = alignTrace(thisBatch, errs, allPreds(b).map(predictedCapsOf), ktrace.collect(), { capTraced: ktrace.capTraced, capHasRet: ktrace.capHasRet });
    }
    emitSome(b, Infinity);
    opts.onProgress?.(out.cases);
    await new Promise<void>((r) => setImmediate(r));
    return !(opts.shouldStop?.() ?? false);
  };

  for (const c of cases) {
    batch.push(c);
    if (batch.length >= batchSize) {
      if (!(await flush())) return out;
    }
  }
  if (!(await flush())) return out;
  out.completed = true;
  return out;
}

/** A batch observed, before its predictions. Its case objects are raw.cases, made when first read. */
function observed(fds: number[], raw: RawBatch): Observed {
  return new ObservedBatch(fds, raw);
}

/** The Prediction of case i, made from a plain errno when that is all predictLean kept. */
function predAt(b: Observed, i: number): Prediction {
  const x = b.lean[i];
  if (typeof x !== 'number') return x;
  const p = plainPrediction(b.batch[i], x);
  b.lean[i] = p;
  return p;
}

/** Every case's Prediction (for the rare verdict that is traced again). */
function allPreds(b: Observed): Prediction[] {
  const out = new Array<Prediction>(b.lean.length);
  for (let i = 0; i < b.lean.length; i++) out[i] = predAt(b, i);
  return out;
}

/** The Observation of case i, built when first asked for. */
function obsAt(b: Observed, i: number): Observation {
  b.obs ??= new Array<Observation>(b.lean.length);
  return b.obs[i] ??= observationAt(b.raw, i);
}

/** One batch: its predictions, its observations, and how far its verdicts are out. */
type Observed = ObservedBatch;

class ObservedBatch {
  /** Per case: the errno of a plain prediction (KernelModel.predictLean), or the Prediction. */
  lean: Array<number | Prediction>;
  /** Cases predicted so far (the pipeline predicts a batch in chunks, as it lines it up). */
  predictedUpTo = 0;
  /** Observations built so far (obsAt). */
  obs: Observation[] | null = null;
  steps: ReturnType<typeof alignTrace> | null = null;
  loadedBefore: string[] = [];
  modulesMoved = false;
  /** The next case whose verdict is to go out. */
  next = 0;
  /** Where the fd table was resynced from the kernel's after a branching case: [first re-predicted case, its fd table]. */
  resync: [number, number[]] | null = null;
  /** Whether a case of this batch took another of its possible results than the model's first. */
  branched = false;
  /** The counters' files before and during the calls as the addon read them (parsed when the batch is predicted). */
  texts: { before: NativeCounterTexts; during: NativeCounterTexts } | null = null;
  /** The counters before and during the calls, and whether sockstat had settled before them. */
  before: Counters | null = null;
  during: Counters | null = null;
  settled = true;

  /** fds: the fd table before the batch's calls. */
  constructor(readonly fds: number[], readonly raw: RawBatch) {
    this.lean = new Array<number | Prediction>(raw.r.errno.length);
  }

  /** The batch's cases (a matrix batch's objects are made when first read). */
  get batch(): SocketCase[] {
    return this.raw.cases as SocketCase[];
  }
}

/** Cases predicted or lined up between two looks at whether the oldest running batch is done. */
const CHUNK = 64;
/** How often the pipeline lets the event loop run (SIGINT is seen within this). */
const YIELD_MS = 20;
/** Batches observed and not yet lined up, with those started, at most: then the kernel side waits. */
const MAX_BACKLOG = 16;
/** Batches started and not yet joined, at most: the kernel side's queue. */
const AHEAD = 8;

interface PipelineHooks {
  predictSome: (b: Observed, limit: number) => boolean;
  emitSome: (b: Observed, limit: number) => boolean;
  baseline: () => Counters | null;
  setBaseline: (c: Counters) => void;
  progress: () => void;
}

/**
 * The overlapped sweep: the kernel side of each batch - the previous batch's close, the fd table,
 * the counters, the calls, the counters again, the /proc/net lookup of the new sockets - runs on
 * a thread of the addon's own, which goes from one batch to the next without waiting for this
 * thread (each batch is started "after" the one before, up to AHEAD batches ahead). This thread
 * predicts and lines up the batches already observed, a chunk at a time, looking between chunks
 * whether the oldest running batch is done: then it takes its results and starts another. The
 * kernel side runs ahead by up to MAX_BACKLOG batches, so neither side waits for the other batch
 * by batch. The model predicts each batch from the fd table read just before its calls, and
 * only after the batch before it is lined up: the order of everything the model sees is the
 * order of the synchronous sweep.
 *
 * The batches' calls run all the time, so this thread opens and closes no fd from the first start
 * to the last join (the verdict handlers only compute and write to fds already open), and lets
 * the event loop run (signal handlers) every YIELD_MS. With exact counters the first batch is
 * joined before the second starts: its counters are what later batches settle to. Returns
 * whether every case was swept (false: stopped by shouldStop).
 */
async function pipelined(cases: Iterable<SocketCase>, opts: SweepOptions, batchSize: number, countersMode: 'exact' | 'shared' | 'off', h: PipelineHooks): Promise<boolean> {
  // A matrix hands out whole batches as columns (MatrixCases.takeColumns); any other iterable case by case.
  const matrix = cases instanceof MatrixCases ? cases : null;
  const it = matrix === null ? cases[Symbol.iterator]() : null;
  const nextCases = (): SocketCase[] | null => {
    const b: SocketCase[] = [];
    while (b.length < batchSize) {
      const r = it!.next();
      if (r.done) break;
      b.push(r.value);
    }
    return b.length > 0 ? b : null;
  };
  const root = getProcRoot();
  const frozen = opts.frozenFdTable === true;
  const closeThreads = opts.closeThreads ?? DEFAULT_CLOSE_THREADS;
  type Running = { p: PipelineBatch };
  let stopped = false;
  let exhausted = false;
  /** Started and not joined, oldest first. */
  const running: Running[] = [];
  /** The newest batch started: the next starts after it, and its fds are closed here at the end. */
  let newest: PipelineBatch | null = null;
  /** The newest batch's fds once it is joined with none after it. */
  let newestFds: Int32Array | null = null;
  const backlog: Observed[] = [];

  /** Start the next batch after the newest (false: there is none). */
  const startNext = (): boolean => {
    if (stopped || exhausted) return false;
    const cols = matrix !== null ? matrix.takeColumns(batchSize) : null;
    const batch = matrix !== null ? null : nextCases();
    if (!cols && !batch) {
      exhausted = true;
      return false;
    }
    const baseline = h.baseline();
    const how = { closeThreads, procNet: opts.procNet !== false };
    const prepared = cols ? preparePipelineColumns(cols, how) : preparePipelineBatch(batch!, how);
    const p = startPipelineBatch(prepared, {
      closeThreads,
      procNet: opts.procNet !== false,
      after: newest ?? undefined,
      fdTable: !frozen,
      countersRoot: countersMode !== 'off' ? root : undefined,
      settleTo: countersMode === 'exact' && baseline ? baseline.sockstatUsed : undefined,
    });
    newest = p;
    newestFds = null;
    running.push({ p });
    return true;
  };
  /** Keep the kernel side's queue full. */
  const topUp = (): void => {
    while (running.length < AHEAD && running.length + backlog.length < MAX_BACKLOG) {
      if (countersMode === 'exact' && h.baseline() === null && running.length > 0) return;
      if (!startNext()) return;
    }
  };

  // The counters' files read the same from batch to batch while nothing makes or frees a
  // socket (most batches): the text last parsed is parsed once. Counters are never mutated.
  let last: { text: NativeCounterTexts; counters: Counters } | null = null;
  const parseCounters = (t: NativeCounterTexts): Counters => {
    const prev = last;
    const p = prev?.text;
    if (prev !== null && p !== undefined && t.errno === undefined && p.errno === undefined && t.protocols === p.protocols && t.sockstat === p.sockstat) return prev.counters;
    const counters = countersFromTexts(t, root);
    last = { text: t, counters };
    return counters;
  };

  /** Predict, then line up, up to CHUNK cases of the oldest batch; true when it is done. */
  const work = (q: Observed): boolean => {
    if (q.predictedUpTo === 0 && q.texts !== null) {
      q.before = parseCounters(q.texts.before);
      q.during = parseCounters(q.texts.during);
      q.texts = null;
    }
    return q.predictedUpTo < q.batch.length ? (h.predictSome(q, CHUNK), false) : h.emitSome(q, CHUNK);
  };

  try {
    let lastYield = Date.now();
    topUp();
    while (running.length > 0 || backlog.length > 0) {
      const r = running.length > 0 ? running[0] : null;
      // Join the oldest running batch when there is nothing else to do, or when it is done and
      // the backlog has room; with MAX_BACKLOG batches waiting, this thread lines them up first.
      if (r !== null && (backlog.length === 0 || (backlog.length < MAX_BACKLOG && r.p.done()))) {
        running.shift();
        const got = r.p.finishOpen();
        if (!r.p.followed()) newestFds = got.openFds;
        // The exact counters' baseline (the first batch's "before") is what later batches settle to.
        if (countersMode === 'exact' && h.baseline() === null && got.counters) h.setBaseline(countersFromTexts(got.counters.before, root));
        if (opts.shouldStop?.() ?? false) stopped = true;
        topUp();
        const q = observed(frozen ? (opts.profile.limits.openFds.value ?? []) : got.fdsBefore!, got.raw);
        q.texts = got.counters ? { before: got.counters.before, during: got.counters.during } : null;
        q.settled = got.counters?.settled ?? true;
        backlog.push(q);
        // Signal handlers (SIGINT, SIGTERM) run here, while the later batches' calls are made
        // (nothing on the event loop of a sweep opens or closes an fd); a turn of the loop also
        // runs V8's pending tasks, so it is taken every YIELD_MS, not every batch.
        if (Date.now() - lastYield >= YIELD_MS) {
          await new Promise<void>((res) => setImmediate(res));
          lastYield = Date.now();
        }
        continue;
      }
      if (work(backlog[0])) {
        backlog.shift();
        h.progress();
        topUp();
      }
    }
    const fds = newestFds as Int32Array | null;
    newestFds = null;
    closeOpenBatch(fds ?? new Int32Array(0), closeThreads);
  } finally {
    // After an error: wait for every running batch, then close the fds of the newest (each
    // batch before it closed those of the one before; a batch whose finishOpen throws with none
    // after it closes its own).
    for (const r of running) {
      try {
        const got = r.p.finishOpen();
        if (!r.p.followed()) newestFds = got.openFds;
      } catch { /* the first error is the one to report */ }
    }
    // (After the normal end this only waits for the reaper, which is done.)
    const left = newestFds as Int32Array | null;
    try { closeOpenBatch(left ?? new Int32Array(0), closeThreads); } catch { /* the first error is the one to report */ }
  }
  return !stopped;
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
