// The hot path of a sweep, as the addon exports it: many socket() calls in one crossing,
// each new fd observed at once (road.cc, shared with the static probe), and the parallel
// close of deferred fds.
//
// No JS value is created until every syscall is done, so nothing JS can run (a GC finalizer
// closing a FileHandle, say) between a socket() and its observations.
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <unordered_set>

#include <cstdint>
#include <string>
#include <vector>

#include "args.h"
#include "diag.h"
#include "road.h"
#include "sockbridge.h"

namespace sockbridge {
namespace {

constexpr int kMaxCloseThreads = 256;

Napi::Value Str(Napi::Env env, const std::string& arena, Span s) {
  napi_value v;
  napi_status st = napi_create_string_utf8(env, arena.data() + s.off, s.len, &v);
  NAPI_THROW_IF_FAILED(env, st, Napi::Value());
  return Napi::Value(env, v);
}

// Array(n).fill(""), with the intrinsics captured when the module loaded (addon.cc), so
// user code patching Array.prototype.fill later cannot change the result.
Napi::Array FilledArray(Napi::Env env, size_t n) {
  Napi::Array arr = Napi::Array::New(env, n);
  if (env.IsExceptionPending() || n == 0) return arr;
  Napi::Function fill = Intrinsics(env).arrayFill.Value();
  fill.Call(arr, {Napi::String::New(env, "")});
  return arr;
}


// While alive, this thread blocks every asynchronous signal, so a thread created meanwhile
// inherits a mask that leaves them to node's main thread; faults and seccomp's SIGSYS stay the
// new thread's own.
struct AsyncSignalsBlocked {
  sigset_t old;
  AsyncSignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    for (int s : {SIGSYS, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigdelset(&all, s);
    pthread_sigmask(SIG_SETMASK, &all, &old);
  }
  ~AsyncSignalsBlocked() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }
  AsyncSignalsBlocked(const AsyncSignalsBlocked&) = delete;
  AsyncSignalsBlocked& operator=(const AsyncSignalsBlocked&) = delete;
};

// The close pool: threads made once, on the first deferred close that needs them, and woken
// once per batch (making up to 127 threads for every batch cost more than the closes of most
// batches). Each blocks in close() on its own; AF_PACKET's release waits for an RCU grace
// period, and closes waiting at the same time share one. A pool thread holds no fd and blocks
// every asynchronous signal; it only ever calls close() on fds handed to it.
struct ClosePool {
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t work = PTHREAD_COND_INITIALIZER;
  pthread_cond_t done = PTHREAD_COND_INITIALIZER;
  std::vector<pthread_t> threads;
  // The batch being closed (set by PoolHand, cleared by PoolFinish): fds, errs, n.
  const int32_t* fds = nullptr;
  int32_t* errs = nullptr;
  size_t n = 0;
  size_t next = 0;      // the next index to close (errs[i] is kClosePending until close() returned)
  size_t finished = 0;  // indices closed
  size_t helpers = 0;   // pool threads still allowed to join this batch
  uint64_t gen = 0;
  // gen when the newest threads were made: a thread made for a batch must not miss it, however
  // late it first runs (the sweep's close waits on the pool threads alone).
  uint64_t madeAt = 0;
};

ClosePool g_pool;

// errs[i] while fds[i] is handed to the pool and its close() has not returned.
constexpr int32_t kClosePending = -1;

// Take indices of the current batch until none is left; mu is held on entry and on return.
void CloseSome(ClosePool* p) {
  while (p->next < p->n) {
    size_t i = p->next++;
    pthread_mutex_unlock(&p->mu);
    // close() is not retried on EINTR: on Linux the fd is gone either way.
    int32_t e = syscall(SYS_close, p->fds[i]) == 0 ? 0 : errno;
    pthread_mutex_lock(&p->mu);
    p->errs[i] = e;
    if (++p->finished == p->n) pthread_cond_broadcast(&p->done);
  }
}

void* PoolWorker(void* arg) {
  ClosePool* p = static_cast<ClosePool*>(arg);
  pthread_mutex_lock(&p->mu);
  uint64_t seen = p->madeAt;
  for (;;) {
    while (p->gen == seen) pthread_cond_wait(&p->work, &p->mu);
    seen = p->gen;
    if (p->helpers == 0) continue;
    --p->helpers;
    CloseSome(p);
  }
  return nullptr;
}

// One batch in the pool at a time: a sweep's batch thread and closeFds on node's thread share
// it. Held from handing a batch to the pool until PoolFinish.
pthread_mutex_t g_poolOne = PTHREAD_MUTEX_INITIALIZER;

// Grow the pool to `want` threads (fewer when pthread_create fails).
void PoolGrow(ClosePool* p, size_t want) {
  if (p->threads.size() >= want) return;
  pthread_mutex_lock(&p->mu);
  p->madeAt = p->gen;
  pthread_mutex_unlock(&p->mu);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  {
    AsyncSignalsBlocked quiet;
    while (p->threads.size() < want) {
      pthread_t th;
      if (pthread_create(&th, &attr, PoolWorker, p) != 0) break;
      pthread_detach(th);
      p->threads.push_back(th);
    }
  }
  pthread_attr_destroy(&attr);
}

// Give the batch to up to `helpers` pool threads (g_poolOne held).
void PoolHand(ClosePool* p, const int32_t* fds, int32_t* errs, size_t n, size_t helpers) {
  pthread_mutex_lock(&p->mu);
  p->fds = fds;
  p->errs = errs;
  for (size_t i = 0; i < n; ++i) errs[i] = kClosePending;
  p->n = n;
  p->next = 0;
  p->finished = 0;
  p->helpers = helpers < p->threads.size() ? helpers : p->threads.size();
  ++p->gen;
  // Wake as many pool threads as may help (a broadcast would wake all of them for 3 fds).
  for (size_t k = 0; k < p->helpers; ++k) pthread_cond_signal(&p->work);
  pthread_mutex_unlock(&p->mu);
}

// Wait until every fd of the batch is closed (with `work`, closing some on this thread too),
// then release the pool.
void PoolFinish(ClosePool* p, bool work) {
  pthread_mutex_lock(&p->mu);
  if (work) CloseSome(p);
  while (p->finished < p->n) pthread_cond_wait(&p->done, &p->mu);
  // No pool thread may touch this batch any more: fds and errs belong to the caller again.
  p->helpers = 0;
  p->n = 0;
  p->fds = nullptr;
  p->errs = nullptr;
  pthread_mutex_unlock(&p->mu);
  pthread_mutex_unlock(&g_poolOne);
}

// close() every fd from up to `threads` threads (this one included): the pool grows to
// threads - 1 (fewer when pthread_create fails; this thread always works too).
void PoolClose(const int32_t* fds, int32_t* errs, size_t n, size_t threads) {
  pthread_mutex_lock(&g_poolOne);
  ClosePool* p = &g_pool;
  size_t extra = threads > 0 ? threads - 1 : 0;
  if (extra > n) extra = n > 0 ? n - 1 : 0;
  PoolGrow(p, extra);
  PoolHand(p, fds, errs, n, extra);
  PoolFinish(p, true);
}

// The same close, returning as soon as every fd is gone from the fd table: close() takes the fd
// out of the table first and releases the socket after (AF_PACKET's release waits for an RCU
// grace period), so the fd numbers are free long before the close pool is done. The pool
// threads close them all (this thread only watches); true when the caller must then
// PoolFinish(&g_pool, false) - once the releases have had the next batch's calls to happen in.
// false when no pool thread could be made (this thread closed them all, and it is finished).
bool PoolCloseBegin(const int32_t* fds, int32_t* errs, size_t n, size_t threads) {
  pthread_mutex_lock(&g_poolOne);
  ClosePool* p = &g_pool;
  size_t helpers = threads < n ? threads : n;
  PoolGrow(p, helpers);
  if (p->threads.empty()) {
    PoolHand(p, fds, errs, n, 0);
    PoolFinish(p, true);
    return false;
  }
  PoolHand(p, fds, errs, n, helpers);
  // A number that fcntl finds closed was freed by the pool. A number may also be taken again
  // before this thread looks: another thread of the process opened a file meanwhile (libuv opens
  // /dev/null as its reserve fd when node makes its first stream, which node does lazily, e.g.
  // on the first write to process.stderr). Then the number is not this batch's to wait for:
  // once close() on it has returned, it is free of this batch whatever fcntl says.
  for (size_t i = 0; i < n; ++i) {
    for (int spins = 0; fcntl(fds[i], F_GETFD) != -1 || errno != EBADF; ++spins) {
      if ((spins & 255) == 255) {
        pthread_mutex_lock(&p->mu);
        bool closed = errs[i] != kClosePending;
        pthread_mutex_unlock(&p->mu);
        if (closed) break;
      }
      if (spins < 10000) {
        sched_yield();
        continue;
      }
      // No pool thread has taken it yet (all busy, or not scheduled): this thread closes what
      // is left, each index once, as PoolClose's caller does.
      pthread_mutex_lock(&p->mu);
      CloseSome(p);
      pthread_mutex_unlock(&p->mu);
      spins = 0;
    }
  }
  return true;
}

// The reaper: threads that close, in the background, duplicates of sockets whose release waits
// for an RCU grace period. A batch thread dups such a socket to a number far above any its own
// calls can get (ReapBase), closes the original number at once (not the last reference, so
// quick), and hands the duplicate here: the number the model counts is free at once, and the
// release runs while the next calls are made. Reaper threads hold no fd of their own and block
// every asynchronous signal.
struct Reaper {
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t work = PTHREAD_COND_INITIALIZER;
  pthread_cond_t idle = PTHREAD_COND_INITIALIZER;
  std::vector<int32_t> queue;
  std::vector<int32_t> closingFds;  // taken from the queue, close() not returned
  size_t closing = 0;
  size_t threads = 0;
};

Reaper g_reaper;

void* ReaperWorker(void* arg) {
  Reaper* r = static_cast<Reaper*>(arg);
  pthread_mutex_lock(&r->mu);
  for (;;) {
    while (r->queue.empty()) pthread_cond_wait(&r->work, &r->mu);
    const int32_t fd = r->queue.back();
    r->queue.pop_back();
    r->closingFds.push_back(fd);
    ++r->closing;
    pthread_mutex_unlock(&r->mu);
    syscall(SYS_close, fd);  // a socket's duplicate: the fd is gone whatever close() says
    pthread_mutex_lock(&r->mu);
    r->closingFds.erase(std::find(r->closingFds.begin(), r->closingFds.end(), fd));
    if (--r->closing == 0 && r->queue.empty()) pthread_cond_broadcast(&r->idle);
  }
  return nullptr;
}

// Queue fds for the reaper, with up to maxThreads threads closing at once (each waits out a
// grace period; closes waiting together share one). false, with nothing queued, when not one
// reaper thread exists or could be made: the caller closes them itself.
bool ReapLater(const std::vector<int32_t>& fds, size_t maxThreads) {
  if (fds.empty()) return true;
  Reaper* r = &g_reaper;
  pthread_mutex_lock(&r->mu);
  // A reaper thread must not allocate: a thread's first malloc may make glibc count the CPUs
  // (arena_get2 reads /sys/devices/system/cpu/online), an fd opened in the middle of a batch's
  // calls. Each thread holds at most one fd in closingFds, and there are at most
  // kMaxCloseThreads of them: the room is made here, on the batch thread.
  if (r->closingFds.capacity() < static_cast<size_t>(kMaxCloseThreads)) r->closingFds.reserve(kMaxCloseThreads);
  const size_t want = std::min(std::min(maxThreads, static_cast<size_t>(kMaxCloseThreads)), r->closing + r->queue.size() + fds.size());
  if (r->threads < want) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    AsyncSignalsBlocked quiet;
    while (r->threads < want) {
      pthread_t th;
      if (pthread_create(&th, &attr, ReaperWorker, r) != 0) break;
      ++r->threads;
    }
    pthread_attr_destroy(&attr);
  }
  if (r->threads == 0) {
    pthread_mutex_unlock(&r->mu);
    return false;
  }
  r->queue.insert(r->queue.end(), fds.begin(), fds.end());
  pthread_cond_broadcast(&r->work);
  pthread_mutex_unlock(&r->mu);
  return true;
}

// The fds handed to the reaper and not closed yet, sorted.
std::vector<int32_t> Reaping() {
  Reaper* r = &g_reaper;
  pthread_mutex_lock(&r->mu);
  std::vector<int32_t> v(r->queue);
  v.insert(v.end(), r->closingFds.begin(), r->closingFds.end());
  pthread_mutex_unlock(&r->mu);
  std::sort(v.begin(), v.end());
  return v;
}

// Wait until every fd handed to the reaper is closed (the end of a sweep: no fd left behind).
void ReapWait() {
  Reaper* r = &g_reaper;
  pthread_mutex_lock(&r->mu);
  while (!r->queue.empty() || r->closing != 0) pthread_cond_wait(&r->idle, &r->mu);
  pthread_mutex_unlock(&r->mu);
}

// The lowest number a batch thread may dup a slow socket to: above every fd a batch of n calls
// can get while the fds open besides the batch's are at most tableMax (each call takes the lowest
// free number), with room below RLIMIT_NOFILE's soft limit for the duplicates. Fixed at first
// use (the duplicates of all batches sit together); 0 when there is no such room (then the close
// pool closes the sockets, as for a batch whose table is not known).
int32_t g_reapBase = 0;
constexpr int32_t kReapLow = 8192;
constexpr int32_t kReapRoom = 4096;

int32_t ReapBase(int32_t tableMax, size_t n) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 0;
  const long soft = static_cast<long>(std::min<rlim_t>(rl.rlim_cur, INT32_MAX));
  const long need = static_cast<long>(tableMax) + 1 + static_cast<long>(n) + 1024;
  if (g_reapBase == 0) {
    const long base = std::max<long>(need, kReapLow);
    if (base + kReapRoom > soft) return 0;
    g_reapBase = static_cast<int32_t>(base);
  }
  if (need > g_reapBase || static_cast<long>(g_reapBase) + kReapRoom > soft) return 0;
  return g_reapBase;
}

// The fds open in this process, ascending, into *out: /proc/self/fd read with getdents64, less
// the directory's own fd (opened O_CLOEXEC and closed before returning). 0 or the errno.
int ReadOpenFds(std::vector<int32_t>* out) {
  out->clear();
  int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return errno;
  alignas(8) char buf[8192];
  int err = 0;
  for (;;) {
    long got = syscall(SYS_getdents64, dfd, buf, sizeof buf);
    if (got < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    if (got == 0) break;
    for (long off = 0; off < got;) {
      const struct Dirent {
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[1];
      }* d = reinterpret_cast<const Dirent*>(buf + off);
      off += d->reclen;
      const char* nm = d->name;
      if (*nm < '0' || *nm > '9') continue;
      long v = 0;
      for (; *nm >= '0' && *nm <= '9'; ++nm) v = v * 10 + (*nm - '0');
      if (*nm != '\0' || v > INT32_MAX || v == dfd) continue;
      out->push_back(static_cast<int32_t>(v));
    }
  }
  close(dfd);
  std::sort(out->begin(), out->end());
  return err;
}

// The whole of a (proc) file into *out: open, read to EOF, close. 0 or the errno.
int ReadText(const std::string& path, std::string* out) {
  out->clear();
  int f = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f < 0) return errno;
  int err = 0;
  size_t used = 0;
  for (;;) {
    out->resize(used + 4096);
    ssize_t r = read(f, &(*out)[used], 4096);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) err = errno;
    if (r <= 0) break;
    used += static_cast<size_t>(r);
  }
  close(f);
  out->resize(used);
  return err;
}

// "sockets: used N" of a sockstat text; -1 when absent.
long SockstatUsed(const std::string& text) {
  static const char kKey[] = "sockets: used ";
  size_t at = text.find(kKey);
  if (at == std::string::npos) return -1;
  long v = 0;
  bool any = false;
  for (size_t i = at + sizeof kKey - 1; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    v = v * 10 + (text[i] - '0');
    any = true;
  }
  return any ? v : -1;
}

// The counters' files (net/protocols, net/sockstat under a proc root), read as text.
struct CounterTexts {
  std::string protocols, sockstat;
  int err = 0;           // the errno of the first file that could not be read
  std::string errPath;   // and which
};

void ReadCounters(const std::string& root, CounterTexts* c) {
  c->err = 0;
  c->errPath.clear();
  const std::string files[2] = {root + "/net/protocols", root + "/net/sockstat"};
  std::string* into[2] = {&c->protocols, &c->sockstat};
  for (int k = 0; k < 2; ++k) {
    int e = ReadText(files[k], into[k]);
    if (e != 0 && c->err == 0) {
      c->err = e;
      c->errPath = files[k];
    }
  }
}

// Poll sockstat's "sockets: used" until it is at most `target`, for up to timeoutMs: closed
// AF_PACKET and netlink socks are freed after an RCU grace period. true when it got there.
bool WaitSockstat(const std::string& root, long target, int timeoutMs) {
  std::string text;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    if (ReadText(root + "/net/sockstat", &text) == 0 && SockstatUsed(text) <= target) return true;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (ms > timeoutMs) return false;
    struct timespec pause = {0, 1000000};
    nanosleep(&pause, nullptr);
  }
}

// Families whose socket release waits (AF_PACKET's packet_release calls synchronize_net), by
// SO_DOMAIN 0..63: their fds go to the close pool, so the batch thread does not wait out an RCU
// grace period per fd. Seeded with AF_PACKET; any other family whose close is seen to take
// longer than kSlowCloseNs on the batch thread joins it.
std::atomic<uint64_t> g_slowDomains{uint64_t{1} << 17};
constexpr long kSlowCloseNs = 200000;

bool SlowToRelease(int32_t domain) {
  if (domain < 0 || domain > 63) return true;
  return (g_slowDomains.load(std::memory_order_relaxed) >> domain) & 1;
}

// close() on this thread (not retried on EINTR: on Linux the fd is gone either way); 0 or the
// errno. A close slower than kSlowCloseNs marks its family slow.
int32_t CloseTimed(int32_t fd, int32_t domain) {
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  const int32_t e = syscall(SYS_close, fd) == 0 ? 0 : errno;
  clock_gettime(CLOCK_MONOTONIC, &b);
  const long ns = (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
  if (ns > kSlowCloseNs && domain >= 0 && domain <= 63) g_slowDomains.fetch_or(uint64_t{1} << domain, std::memory_order_relaxed);
  return e;
}

// One batch's inputs and outputs in memory the addon owns: the synchronous call fills it on
// this thread; probeBatchStart fills it on a thread of its own while JS goes on.
struct BatchJob {
  std::vector<int32_t> d, t, p;
  std::vector<uint64_t> raw;
  bool hasRaw = false;
  bool closeNow = false;
  std::vector<int32_t> err, fd, fdFlags, flFlags, soDomain, soType, soProtocol, sig;
  std::vector<uint32_t> stMode, stUid, stGid;
  std::vector<double> stIno;
  std::string arena;
  std::vector<Captured> caps;
  // Before the calls (a sweep's pipeline: the whole kernel side of a batch on this thread):
  // close the previous batch's fds, wait for sockstat to settle, read the fd table and the
  // counters; after the calls, the counters again while the new fds are open.
  std::vector<int32_t> closeFirst, closeErrs;
  // The SO_DOMAIN of each closeFirst fd when known (the batch before's own fds, "after"): a fd of
  // a family whose release is quick is closed on this thread, the others by the close pool.
  std::vector<int32_t> closeFirstDomains;
  // The highest fd open before the batch before's calls, below the reaper's numbers (the
  // batch before's fd table, "after"); -1 when not known (no slow socket is reaped then).
  int32_t prevTableMax = -1;
  std::vector<int32_t> poolFds, poolErrs, reapFds;
  std::vector<size_t> poolAt;
  size_t closeThreads = 1;
  bool fdTable = false;
  std::vector<int32_t> fdsBefore;
  int fdTableErr = 0;
  std::string countersRoot;  // empty: no counters
  long settleTo = -1;        // >= 0: wait for sockstat's "sockets: used" <= this first
  bool settled = true;
  CounterTexts before, during;
  // After the calls (netTables), while the new fds are open: each new socket looked up in the
  // /proc/net tables its family can be listed in (NetTable.domains), by sock_diag or as text.
  struct NetTable {
    int kind = 0;  // 0 read the text, 1 unix_diag, 2 inet_diag (family, protocol)
    int family = 0, protocol = 0;
    std::string path;              // the text table (also read when sock_diag fails)
    std::vector<int32_t> domains;  // the SO_DOMAIN values whose sockets it can list
  };
  struct NetFound {
    size_t table = 0;   // index into netTables
    int diagErr = 0;    // kind 1, 2: 0 or the errno sock_diag answered (then the text was read)
    UnixDiag unix;
    InetDiag inet;
    bool text = false;  // the text was read: textErr 0 and textBody, or the errno
    int textErr = 0;
    std::string textBody;
  };
  bool hasLookup = false;
  std::vector<NetTable> netTables;
  std::vector<uint32_t> lookupInodes;  // the new sockets' inodes, first-seen order
  std::vector<NetFound> netFound;      // the tables asked, in netTables order
  // The chain (RunChain): set under g_chainMu. onThread: a thread runs this job or will (it is
  // some job's next), or waits after it for a next; the job may not be freed meanwhile.
  BatchJob* next = nullptr;
  bool hasSuccessor = false;      // a batch was started after this one
  bool noNext = false;            // none will be (its handle is being freed): do not wait for one
  bool onThread = false;
  std::vector<int32_t> openFds;   // after the calls: the fds left open, until a next takes them
  std::vector<int32_t> openDomains;  // and their SO_DOMAIN
  std::atomic<bool> finished{false};
  bool done = false;     // RunBatch has run (the result may be taken once)
  bool taken = false;

  // The per-case vectors of a finished batch, kept for the next one (both only on node's thread):
  // fresh memory for a dozen 2048-entry vectors cost a batch 0.4 ms in page faults.
  void GiveVectors(BatchJob& to) {
    d.swap(to.d); t.swap(to.t); p.swap(to.p);
    err.swap(to.err); fd.swap(to.fd); fdFlags.swap(to.fdFlags); flFlags.swap(to.flFlags);
    soDomain.swap(to.soDomain); soType.swap(to.soType); soProtocol.swap(to.soProtocol); sig.swap(to.sig);
    stMode.swap(to.stMode); stUid.swap(to.stUid); stGid.swap(to.stGid); stIno.swap(to.stIno);
  }
  void Resize(size_t n) {
    err.assign(n, 0); fd.assign(n, 0); fdFlags.assign(n, 0); flFlags.assign(n, 0);
    soDomain.assign(n, 0); soType.assign(n, 0); soProtocol.assign(n, 0); sig.assign(n, 0);
    stMode.assign(n, 0); stUid.assign(n, 0); stGid.assign(n, 0); stIno.assign(n, 0);
  }
  void Run() {
    const BatchOut o{err.data(),      fd.data(),     fdFlags.data(),    flFlags.data(),
                     soDomain.data(), soType.data(), soProtocol.data(), stMode.data(),
                     stUid.data(),    stGid.data(),  stIno.data(),      sig.data()};
    bool closing = false;
    if (!closeFirst.empty()) {
      closeErrs.assign(closeFirst.size(), 0);
      poolFds.clear();
      poolAt.clear();
      reapFds.clear();
      const bool known = closeFirstDomains.size() == closeFirst.size();
      const int32_t reapBase = known && prevTableMax >= 0 ? ReapBase(prevTableMax, d.size()) : 0;
      for (size_t i = 0; i < closeFirst.size(); ++i) {
        if (known && !SlowToRelease(closeFirstDomains[i])) {
          closeErrs[i] = CloseTimed(closeFirst[i], closeFirstDomains[i]);
          continue;
        }
        // A slow socket: its number freed now through a duplicate the reaper closes later.
        const int hi = reapBase > 0 ? fcntl(closeFirst[i], F_DUPFD_CLOEXEC, reapBase) : -1;
        if (hi >= 0) {
          closeErrs[i] = syscall(SYS_close, closeFirst[i]) == 0 ? 0 : errno;
          reapFds.push_back(hi);
        } else {
          poolFds.push_back(closeFirst[i]);
          poolAt.push_back(i);
        }
      }
      if (!ReapLater(reapFds, closeThreads)) {
        // No reaper thread: these close here (the originals are closed already).
        for (int32_t fd : reapFds) syscall(SYS_close, fd);
      }
      if (!poolFds.empty()) {
        poolErrs.assign(poolFds.size(), 0);
        closing = PoolCloseBegin(poolFds.data(), poolErrs.data(), poolFds.size(),
                                 std::min(closeThreads, poolFds.size()));
        if (!closing) CopyPoolErrs();
      }
    }
    if (!countersRoot.empty() && settleTo >= 0) settled = WaitSockstat(countersRoot, settleTo, 2000);
    if (fdTable) {
      // Less the reaper's duplicates still open: they are the batch before's sockets, closing.
      const std::vector<int32_t> reaping = Reaping();
      fdTableErr = ReadOpenFds(&fdsBefore);
      if (!reaping.empty()) {
        fdsBefore.erase(std::remove_if(fdsBefore.begin(), fdsBefore.end(), [&](int32_t fd) {
          return std::binary_search(reaping.begin(), reaping.end(), fd);
        }), fdsBefore.end());
      }
    }
    if (!countersRoot.empty()) ReadCounters(countersRoot, &before);
    RunBatch(Route::kSocket, d.data(), t.data(), p.data(), d.size(), closeNow, o, arena, caps,
             hasRaw ? raw.data() : nullptr);
    if (!countersRoot.empty()) ReadCounters(countersRoot, &during);
    if (hasLookup) Lookup();
    // The previous batch's releases ran while these calls were made; their errnos are in now.
    if (closing) {
      PoolFinish(&g_pool, false);
      CopyPoolErrs();
    }
    done = true;
  }
  // The highest fd of the table read before the calls (the reaper's duplicates left out);
  // -1 when the table was not read.
  int32_t TableMax() const {
    if (!fdTable || fdTableErr != 0) return -1;
    return fdsBefore.empty() ? 0 : fdsBefore.back();
  }
  void CopyPoolErrs() {
    for (size_t k = 0; k < poolAt.size(); ++k) closeErrs[poolAt[k]] = poolErrs[k];
  }
  // The fds the calls left open (no errno, no signal), in case order, and their SO_DOMAIN.
  void LeftOpen(std::vector<int32_t>* fds, std::vector<int32_t>* domains) const {
    fds->clear();
    domains->clear();
    if (closeNow) return;
    for (size_t i = 0; i < err.size(); ++i) {
      if (err[i] == 0 && sig[i] == 0) {
        fds->push_back(fd[i]);
        domains->push_back(soDomain[i]);
      }
    }
  }
  void Lookup() {
    lookupInodes.clear();
    netFound.clear();
    std::vector<char> want(netTables.size(), 0);
    std::unordered_set<uint32_t> seen;
    for (size_t i = 0; i < err.size(); ++i) {
      if (err[i] != 0 || sig[i] != 0) continue;
      const uint32_t ino = static_cast<uint32_t>(stIno[i]);
      if (seen.insert(ino).second) lookupInodes.push_back(ino);
      for (size_t t = 0; t < netTables.size(); ++t) {
        if (want[t]) continue;
        const auto& ds = netTables[t].domains;
        if (std::find(ds.begin(), ds.end(), soDomain[i]) != ds.end()) want[t] = 1;
      }
    }
    bool reaped = false;
    for (size_t t = 0; t < netTables.size(); ++t) {
      if (!want[t]) continue;
      const NetTable& nt = netTables[t];
      NetFound f;
      f.table = t;
      if (nt.kind == 1) f.diagErr = DiagUnixLookup(lookupInodes, UnixDiagMode::kAuto, &f.unix);
      if (nt.kind == 2) f.diagErr = DiagInetLookup(nt.family, nt.protocol, lookupInodes, &f.inet);
      if (nt.kind == 0 || f.diagErr != 0) {
        // A text table is a seq_file that restarts its walk at every ~4 KB read, by position:
        // a socket leaving the list meanwhile (an AF_PACKET duplicate the reaper is closing)
        // shifts the later rows, and one is skipped. The reaper's closes end first.
        if (!reaped) {
          ReapWait();
          reaped = true;
        }
        f.text = true;
        f.textErr = ReadText(nt.path, &f.textBody);
      }
      netFound.push_back(std::move(f));
    }
  }
};

pthread_mutex_t g_chainMu = PTHREAD_MUTEX_INITIALIZER;
// Broadcast when a job finishes, gets a next, or is left by its thread.
pthread_cond_t g_chainCv = PTHREAD_COND_INITIALIZER;

// How long a batch's thread waits for the next batch after finishing one, before it ends.
constexpr long kLingerMs = 50;

// Finish a job that ran (on any thread): its open fds recorded, finished set, waiters woken.
// g_chainMu held.
void MarkFinished(BatchJob* j) {
  j->LeftOpen(&j->openFds, &j->openDomains);
  j->finished.store(true, std::memory_order_release);
  pthread_cond_broadcast(&g_chainCv);
}

// A sweep's batch thread: runs its job, then the job started after it (probeBatchStart's
// option "after"), and so on, each closing the fds the one before left open. When no next job
// comes within kLingerMs the thread ends; the next one gets a thread of its own then.
void* RunChain(void* arg) {
  BatchJob* j = static_cast<BatchJob*>(arg);
  for (;;) {
    j->Run();
    pthread_mutex_lock(&g_chainMu);
    MarkFinished(j);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += kLingerMs * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    while (j->next == nullptr && !j->noNext) {
      if (pthread_cond_timedwait(&g_chainCv, &g_chainMu, &until) == ETIMEDOUT) break;
    }
    BatchJob* n = j->next;
    if (n != nullptr) {
      n->closeFirst.swap(j->openFds);
      n->closeFirstDomains.swap(j->openDomains);
      n->prevTableMax = j->TableMax();
      j->openFds.clear();
      j->openDomains.clear();
    }
    j->onThread = false;
    pthread_cond_broadcast(&g_chainCv);
    pthread_mutex_unlock(&g_chainMu);
    if (n == nullptr) return nullptr;
    j = n;
  }
}

// Vectors of batches already taken by JS, for the next batches (node's thread only).
std::vector<std::unique_ptr<BatchJob>> g_spare;

// Option "netTables": [{kind: 'text' | 'unix' | 'inet', family, protocol, path, domains}].
bool TakeNetTables(Napi::Env env, const Napi::Value& v, const char* kFn, BatchJob* job) {
  if (!v.IsArray()) {
    return ThrowType(env, Arg(kFn, "options.netTables") + " must be an array of {kind, family, protocol, path, domains}, got " + Describe(v));
  }
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value e = a.Get(k);
    if (env.IsExceptionPending()) return false;
    const std::string name = "options.netTables[" + std::to_string(k) + "]";
    if (!e.IsObject()) return ThrowType(env, Arg(kFn, name.c_str()) + " must be an object, got " + Describe(e));
    Napi::Object o = e.As<Napi::Object>();
    Napi::Value kind = o.Get("kind"), family = o.Get("family"), protocol = o.Get("protocol"), path = o.Get("path"), domains = o.Get("domains");
    if (env.IsExceptionPending()) return false;
    BatchJob::NetTable t;
    const std::string ks = kind.IsString() ? kind.As<Napi::String>().Utf8Value() : "";
    if (ks != "text" && ks != "unix" && ks != "inet") {
      return ThrowType(env, Arg(kFn, (name + ".kind").c_str()) + " must be 'text', 'unix' or 'inet', got " + Describe(kind));
    }
    t.kind = ks == "text" ? 0 : ks == "unix" ? 1 : 2;
    double f = 0, p = 0;
    if (t.kind == 2 && (!GetInteger(env, family, kFn, (name + ".family").c_str(), 0, 255, "an address family 0..255", &f) ||
                        !GetInteger(env, protocol, kFn, (name + ".protocol").c_str(), 0, 255, "an IP protocol 0..255", &p))) {
      return false;
    }
    t.family = static_cast<int>(f);
    t.protocol = static_cast<int>(p);
    if (!path.IsString() || path.As<Napi::String>().Utf8Value().empty()) {
      return ThrowType(env, Arg(kFn, (name + ".path").c_str()) + " must be the table's file, such as \"/proc/net/unix\", got " + Describe(path));
    }
    t.path = path.As<Napi::String>().Utf8Value();
    Napi::Int32Array ds;
    if (!GetInt32Array(env, domains, kFn, (name + ".domains").c_str(), &ds)) return false;
    t.domains.assign(ds.Data(), ds.Data() + ds.ElementLength());
    job->netTables.push_back(std::move(t));
  }
  job->hasLookup = true;
  return true;
}

// The arguments of probeBatch / probeBatchStart, checked and copied into a job; null (with a
// JS exception pending) when one is bad.
std::unique_ptr<BatchJob> TakeArgs(const Napi::CallbackInfo& info, const char* kFn) {
  Napi::Env env = info.Env();
  Napi::Int32Array domains, types, protocols;
  if (!GetInt32Array(env, info[0], kFn, "domains", &domains) ||
      !GetInt32Array(env, info[1], kFn, "types", &types) ||
      !GetInt32Array(env, info[2], kFn, "protocols", &protocols)) {
    return nullptr;
  }
  const size_t n = domains.ElementLength();
  if (types.ElementLength() != n || protocols.ElementLength() != n) {
    ThrowRange(env, std::string(kFn) + ": arguments \"domains\", \"types\" and \"protocols\" must "
               "have the same length, got " + std::to_string(n) + ", " +
               std::to_string(types.ElementLength()) + " and " +
               std::to_string(protocols.ElementLength()));
    return nullptr;
  }
  if (n > UINT32_MAX) {
    ThrowRange(env, Arg(kFn, "domains") + " is too long");
    return nullptr;
  }
  if (!info[3].IsObject()) {
    ThrowType(env, Arg(kFn, "options") + " must be an object {close: 'now' | 'defer'}, got " +
              Describe(info[3]));
    return nullptr;
  }
  Napi::Value closeOpt = info[3].As<Napi::Object>().Get("close");
  if (env.IsExceptionPending()) return nullptr;
  bool closeNow;
  std::string closeStr = closeOpt.IsString() ? closeOpt.As<Napi::String>().Utf8Value() : "";
  if (closeStr == "now") {
    closeNow = true;
  } else if (closeStr == "defer") {
    closeNow = false;
  } else {
    ThrowType(env, std::string(kFn) + ": option \"close\" of argument \"options\" must be 'now' or "
              "'defer', got " + Describe(closeOpt));
    return nullptr;
  }
  // Raw mode (option "raw": BigUint64Array of 3 registers per case): the full 64-bit values.
  Napi::Value rawOpt = info[3].As<Napi::Object>().Get("raw");
  if (env.IsExceptionPending()) return nullptr;
  std::unique_ptr<BatchJob> job(new BatchJob());
  if (!g_spare.empty()) {
    g_spare.back()->GiveVectors(*job);
    g_spare.pop_back();
  }
  if (!rawOpt.IsUndefined()) {
    if (!rawOpt.IsTypedArray() || rawOpt.As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array ||
        rawOpt.As<Napi::TypedArray>().ElementLength() != 3 * n) {
      ThrowType(env, std::string(kFn) + ": option \"raw\" of argument \"options\" must be a "
                "BigUint64Array of 3 registers per case, got " + Describe(rawOpt));
      return nullptr;
    }
    const uint64_t* r = rawOpt.As<Napi::TypedArrayOf<uint64_t>>().Data();
    job->raw.assign(r, r + 3 * n);
    job->hasRaw = true;
  }
  // The pipeline's options (all optional): closeFirst (Int32Array) and closeThreads (1..256),
  // fdTable (boolean), countersRoot (a proc root: "/proc"), settleTo (an integer >= 0).
  Napi::Object opts = info[3].As<Napi::Object>();
  Napi::Value closeFirst = opts.Get("closeFirst");
  Napi::Value closeThreads = opts.Get("closeThreads");
  Napi::Value fdTable = opts.Get("fdTable");
  Napi::Value countersRoot = opts.Get("countersRoot");
  Napi::Value settleTo = opts.Get("settleTo");
  Napi::Value netTables = opts.Get("netTables");
  if (env.IsExceptionPending()) return nullptr;
  if (!closeFirst.IsUndefined()) {
    Napi::Int32Array fds;
    if (!GetInt32Array(env, closeFirst, kFn, "options.closeFirst", &fds)) return nullptr;
    job->closeFirst.assign(fds.Data(), fds.Data() + fds.ElementLength());
  }
  if (!closeThreads.IsUndefined()) {
    double v;
    if (!GetInteger(env, closeThreads, kFn, "options.closeThreads", 1, kMaxCloseThreads, "an integer 1..256", &v)) return nullptr;
    job->closeThreads = static_cast<size_t>(v);
  }
  if (!fdTable.IsUndefined()) {
    if (!fdTable.IsBoolean()) {
      ThrowType(env, Arg(kFn, "options.fdTable") + " must be a boolean, got " + Describe(fdTable));
      return nullptr;
    }
    job->fdTable = fdTable.As<Napi::Boolean>().Value();
  }
  if (!countersRoot.IsUndefined()) {
    if (!countersRoot.IsString() || countersRoot.As<Napi::String>().Utf8Value().empty()) {
      ThrowType(env, Arg(kFn, "options.countersRoot") + " must be a proc root such as \"/proc\", got " + Describe(countersRoot));
      return nullptr;
    }
    job->countersRoot = countersRoot.As<Napi::String>().Utf8Value();
  }
  if (!settleTo.IsUndefined()) {
    double v;
    if (!GetInteger(env, settleTo, kFn, "options.settleTo", 0, 9007199254740991.0, "a socket count >= 0", &v)) return nullptr;
    if (job->countersRoot.empty()) {
      ThrowType(env, Arg(kFn, "options.settleTo") + " needs options.countersRoot (where sockstat is read)");
      return nullptr;
    }
    job->settleTo = static_cast<long>(v);
  }
  if (!netTables.IsUndefined() && !TakeNetTables(env, netTables, kFn, job.get())) return nullptr;
  job->closeNow = closeNow;
  job->d.assign(domains.Data(), domains.Data() + n);
  job->t.assign(types.Data(), types.Data() + n);
  job->p.assign(protocols.Data(), protocols.Data() + n);
  job->Resize(n);
  return job;
}

// The JS result of a job whose RunBatch is done.
// Each numeric column as a view of one ArrayBuffer: one allocation a batch, not twelve.
template <typename T, typename A>
A View(Napi::Env env, Napi::ArrayBuffer& ab, size_t& at, const std::vector<T>& v) {
  A a = A::New(env, v.size(), ab, at);
  if (!v.empty()) std::memcpy(static_cast<char*>(ab.Data()) + at, v.data(), v.size() * sizeof(T));
  at += v.size() * sizeof(T);
  return a;
}

Napi::Value ResultOf(Napi::Env env, const BatchJob& job) {
  const size_t n = job.d.size();
  Napi::Object out = Napi::Object::New(env);
  // stIno (8-byte elements) first, so every view is aligned.
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, n * (8 + 11 * 4));
  if (env.IsExceptionPending()) return env.Undefined();
  size_t at = 0;
  out.Set("stIno", View<double, Napi::Float64Array>(env, ab, at, job.stIno));
  out.Set("errno", View<int32_t, Napi::Int32Array>(env, ab, at, job.err));
  out.Set("signal", View<int32_t, Napi::Int32Array>(env, ab, at, job.sig));
  out.Set("fd", View<int32_t, Napi::Int32Array>(env, ab, at, job.fd));
  out.Set("fdFlags", View<int32_t, Napi::Int32Array>(env, ab, at, job.fdFlags));
  out.Set("flFlags", View<int32_t, Napi::Int32Array>(env, ab, at, job.flFlags));
  out.Set("soDomain", View<int32_t, Napi::Int32Array>(env, ab, at, job.soDomain));
  out.Set("soType", View<int32_t, Napi::Int32Array>(env, ab, at, job.soType));
  out.Set("soProtocol", View<int32_t, Napi::Int32Array>(env, ab, at, job.soProtocol));
  out.Set("stMode", View<uint32_t, Napi::Uint32Array>(env, ab, at, job.stMode));
  out.Set("stUid", View<uint32_t, Napi::Uint32Array>(env, ab, at, job.stUid));
  out.Set("stGid", View<uint32_t, Napi::Uint32Array>(env, ab, at, job.stGid));
  if (env.IsExceptionPending()) return env.Undefined();
  // Most cases of a sweep fail, so the string arrays start as Array(n).fill(""), filled inside
  // V8 (one napi call per element would cost more than the failed socket() itself), and only
  // successful cases are set one by one.
  Napi::Array link = FilledArray(env, n);
  Napi::Array fdinfo = FilledArray(env, n);
  Napi::Array protoName = FilledArray(env, n);
  if (env.IsExceptionPending()) return env.Undefined();
  for (const Captured& c : job.caps) {
    link.Set(c.index, Str(env, job.arena, c.link));
    fdinfo.Set(c.index, Str(env, job.arena, c.fdinfo));
    protoName.Set(c.index, Str(env, job.arena, c.proto));
    if (env.IsExceptionPending()) return env.Undefined();
  }
  out.Set("link", link);
  out.Set("fdinfo", fdinfo);
  out.Set("protoName", protoName);
  if (!job.closeFirst.empty()) {
    out.Set("closeFirst", TypedCopy<Napi::Int32Array>(env, job.closeFirst));
    out.Set("closeErrs", TypedCopy<Napi::Int32Array>(env, job.closeErrs));
  }
  if (job.hasLookup) {
    Napi::Object lk = Napi::Object::New(env);
    std::vector<double> inodes(job.lookupInodes.begin(), job.lookupInodes.end());
    lk.Set("inodes", TypedCopy<Napi::Float64Array>(env, inodes));
    Napi::Array tables = Napi::Array::New(env, job.netFound.size());
    for (size_t k = 0; k < job.netFound.size(); ++k) {
      const BatchJob::NetFound& f = job.netFound[k];
      const int kind = job.netTables[f.table].kind;
      Napi::Object t = Napi::Object::New(env);
      t.Set("table", Napi::Number::New(env, static_cast<double>(f.table)));
      if (kind == 1) t.Set("diag", UnixDiagToJs(env, f.diagErr, f.unix));
      if (kind == 2) t.Set("diag", InetDiagToJs(env, f.diagErr, f.inet));
      if (f.text) {
        if (f.textErr != 0) {
          t.Set("textErrno", Napi::Number::New(env, f.textErr));
        } else {
          napi_value sv;
          NAPI_THROW_IF_FAILED(env, napi_create_string_latin1(env, f.textBody.data(), f.textBody.size(), &sv), Napi::Value());
          t.Set("text", Napi::Value(env, sv));
        }
      }
      tables.Set(static_cast<uint32_t>(k), t);
    }
    lk.Set("tables", tables);
    out.Set("lookup", lk);
  }
  if (job.fdTable) {
    if (job.fdTableErr != 0) out.Set("fdTableErrno", Napi::Number::New(env, job.fdTableErr));
    else out.Set("fdsBefore", TypedCopy<Napi::Int32Array>(env, job.fdsBefore));
  }
  if (!job.countersRoot.empty()) {
    Napi::Object c = Napi::Object::New(env);
    for (const auto& [name, t] : {std::pair<const char*, const CounterTexts*>{"before", &job.before}, {"during", &job.during}}) {
      Napi::Object o = Napi::Object::New(env);
      if (t->err != 0) {
        o.Set("errno", Napi::Number::New(env, t->err));
        o.Set("path", Napi::String::New(env, t->errPath));
      } else {
        o.Set("protocols", Napi::String::New(env, t->protocols));
        o.Set("sockstat", Napi::String::New(env, t->sockstat));
      }
      c.Set(name, o);
    }
    c.Set("settled", Napi::Boolean::New(env, job.settled));
    out.Set("counters", c);
  }
  if (env.IsExceptionPending()) return env.Undefined();
  return out;
}

// The job behind a probeBatchStart handle (argument 0), or null with a TypeError pending.
BatchJob* JobArg(const Napi::CallbackInfo& info, const char* fn) {
  if (!info[0].IsExternal()) {
    ThrowType(info.Env(), Arg(fn, "handle") + " must be what probeBatchStart returned, got " + Describe(info[0]));
    return nullptr;
  }
  return info[0].As<Napi::External<BatchJob>>().Data();
}

void FinalizeJob(Napi::Env, BatchJob* job) {
  // Never free memory a thread uses: wait until no thread runs this job or waits after it (a
  // job's fds stay with the process).
  pthread_mutex_lock(&g_chainMu);
  job->noNext = true;
  pthread_cond_broadcast(&g_chainCv);
  while (job->onThread) pthread_cond_wait(&g_chainCv, &g_chainMu);
  pthread_mutex_unlock(&g_chainMu);
  delete job;
}

// Start a thread for the chain from `job` (onThread set); when none can be made, run the job on
// this thread now.
void StartChain(BatchJob* job) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  bool started;
  {
    AsyncSignalsBlocked quiet;
    pthread_t th;
    started = pthread_create(&th, &attr, RunChain, job) == 0;
  }
  pthread_attr_destroy(&attr);
  if (started) return;
  job->Run();
  pthread_mutex_lock(&g_chainMu);
  MarkFinished(job);
  job->onThread = false;
  pthread_mutex_unlock(&g_chainMu);
}

}  // namespace

Napi::Value ProbeBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::unique_ptr<BatchJob> job = TakeArgs(info, "probeBatch");
  if (!job) return env.Undefined();
  // No JS value is made until every syscall is done.
  job->Run();
  return ResultOf(env, *job);
}


// The same batch on a thread of its own (one of two CPUs makes the calls while JS compares
// the previous batch). Until probeBatchJoin returns, the caller must not open or close an fd:
// the fd numbers the kernel hands out are among the things compared. Asynchronous signals are
// blocked on that thread, so they go to the threads that handled them before. When no thread
// can be started, the batch runs on this thread before probeBatchStart returns.
//
// Option "after" (a handle of an earlier batch that has no successor yet): run this batch after
// that one, closing the fds it left open first (instead of closeFirst). While that batch's thread
// is still at work or waits after it, this batch runs on the same thread as soon as that one is
// done, without waiting for node; otherwise on a new thread.
Napi::Value ProbeBatchStart(const Napi::CallbackInfo& info) {
  static const char kFn[] = "probeBatchStart";
  Napi::Env env = info.Env();
  std::unique_ptr<BatchJob> job = TakeArgs(info, kFn);
  if (!job) return env.Undefined();
  BatchJob* after = nullptr;
  Napi::Value afterOpt = info[3].As<Napi::Object>().Get("after");
  if (env.IsExceptionPending()) return env.Undefined();
  if (!afterOpt.IsUndefined()) {
    if (!afterOpt.IsExternal()) {
      ThrowType(env, Arg(kFn, "options.after") + " must be what probeBatchStart returned, got " + Describe(afterOpt));
      return env.Undefined();
    }
    if (!job->closeFirst.empty()) {
      ThrowType(env, Arg(kFn, "options.after") + " closes the fds that batch left open: options.closeFirst cannot be given too");
      return env.Undefined();
    }
    after = afterOpt.As<Napi::External<BatchJob>>().Data();
  }
  BatchJob* raw = job.release();
  Napi::External<BatchJob> handle = Napi::External<BatchJob>::New(env, raw, FinalizeJob);
  if (env.IsExceptionPending()) {
    delete raw;
    return env.Undefined();
  }
  pthread_mutex_lock(&g_chainMu);
  if (after != nullptr && after->hasSuccessor) {
    pthread_mutex_unlock(&g_chainMu);
    ThrowRange(env, Arg(kFn, "options.after") + " already has a batch started after it");
    return env.Undefined();
  }
  raw->onThread = true;
  if (after != nullptr) {
    after->hasSuccessor = true;
    if (after->onThread) {
      after->next = raw;
      pthread_cond_broadcast(&g_chainCv);
      pthread_mutex_unlock(&g_chainMu);
      return handle;
    }
    // That batch's thread has ended: the fds it left open are this batch's to close.
    raw->closeFirst.swap(after->openFds);
    raw->closeFirstDomains.swap(after->openDomains);
    raw->prevTableMax = after->TableMax();
    after->openFds.clear();
    after->openDomains.clear();
  }
  pthread_mutex_unlock(&g_chainMu);
  StartChain(raw);
  return handle;
}

// Wait for a probeBatchStart batch and return what probeBatch would have (once per handle).
Napi::Value ProbeBatchJoin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BatchJob* job = JobArg(info, "probeBatchJoin");
  if (job == nullptr) return env.Undefined();
  if (job->taken) {
    ThrowRange(env, "probeBatchJoin: this batch's result was already taken");
    return env.Undefined();
  }
  pthread_mutex_lock(&g_chainMu);
  while (!job->finished.load(std::memory_order_acquire)) pthread_cond_wait(&g_chainCv, &g_chainMu);
  pthread_mutex_unlock(&g_chainMu);
  job->taken = true;
  Napi::Value r = ResultOf(env, *job);
  // The copies are in JS now; the job keeps only what it needs to be finalized, and its vectors
  // go to the next batch.
  job->arena = std::string();
  job->caps = std::vector<Captured>();
  if (g_spare.size() < 4) {
    std::unique_ptr<BatchJob> spare(new BatchJob());
    job->GiveVectors(*spare);
    g_spare.push_back(std::move(spare));
  }
  return r;
}

// Whether a probeBatchStart batch is done (probeBatchJoin would not wait).
Napi::Value ProbeBatchDone(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BatchJob* job = JobArg(info, "probeBatchDone");
  if (job == nullptr) return env.Undefined();
  return Napi::Boolean::New(env, job->finished.load(std::memory_order_acquire));
}

// The deferred close of a batch's fds, from the close pool.
Napi::Value CloseFds(const Napi::CallbackInfo& info) {
  static const char kFn[] = "closeFds";
  Napi::Env env = info.Env();
  Napi::Int32Array fds;
  if (!GetInt32Array(env, info[0], kFn, "fds", &fds)) return env.Undefined();
  double threadsD;
  if (!GetInteger(env, info[1], kFn, "threads", 1, kMaxCloseThreads, "an integer 1..256",
                  &threadsD)) {
    return env.Undefined();
  }
  const size_t n = fds.ElementLength();
  Napi::Int32Array errs = Napi::Int32Array::New(env, n);
  if (env.IsExceptionPending()) return env.Undefined();
  // The fds are copied: the pool threads must not read JS memory.
  std::vector<int32_t> copy(fds.Data(), fds.Data() + n);
  std::vector<int32_t> out(n, 0);
  PoolClose(copy.data(), out.data(), n, static_cast<size_t>(threadsD));
  // Also every duplicate a batch handed to the reaper: when this returns, none of a sweep's
  // sockets is open.
  ReapWait();
  if (n > 0) std::memcpy(errs.Data(), out.data(), n * sizeof(int32_t));
  return errs;
}

// The fds open in this process, ascending: /proc/self/fd read with getdents64, less the
// directory's own fd. null when /proc/self/fd cannot be opened (the errno is thrown by JS).
Napi::Value OpenFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<int32_t> fds;
  int err = ReadOpenFds(&fds);
  if (err != 0) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("errno", Napi::Number::New(env, err));
    return o;
  }
  return TypedCopy<Napi::Int32Array>(env, fds);
}

}  // namespace sockbridge
