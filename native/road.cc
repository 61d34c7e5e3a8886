// The kernel road's core (see road.h): node-free, so the addon and the static probe share it.
//
// While a batch runs, this thread holds no fd of its own: an extra fd (say, a cached
// /proc/self/fd directory) would change which fd number the kernel hands out, and the fd
// number is one of the things being checked. /proc files are opened by path after socket()
// returned and closed before the next socket() call.
#include "road.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace sockbridge {

volatile sig_atomic_t g_sigsys = 0;

namespace {

// prefix + decimal fd + NUL into buf (at least 64 bytes); no locale, no allocation.
void FdPath(char* buf, const char* prefix, size_t plen, int fd) {
  std::memcpy(buf, prefix, plen);
  char digits[12];
  int n = 0;
  unsigned v = static_cast<unsigned>(fd);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  char* p = buf + plen;
  while (n > 0) *p++ = digits[--n];
  *p = '\0';
}

Span AppendBytes(std::string& arena, const char* p, size_t len) {
  Span s{static_cast<uint32_t>(arena.size()), static_cast<uint32_t>(len)};
  arena.append(p, len);
  return s;
}

// The whole of /proc/self/fdinfo/N, read straight into the arena; empty if it cannot be read.
Span ReadFdinfo(std::string& arena, int fd) {
  static const char kPrefix[] = "/proc/self/fdinfo/";
  char path[64];
  FdPath(path, kPrefix, sizeof kPrefix - 1, fd);
  Span s{static_cast<uint32_t>(arena.size()), 0};
  int f = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (f < 0) return s;
  size_t used = 0;
  for (;;) {
    arena.resize(s.off + used + 4096);
    ssize_t r = read(f, &arena[s.off + used], 4096);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    used += static_cast<size_t>(r);
  }
  close(f);
  arena.resize(s.off + used);
  s.len = static_cast<uint32_t>(used);
  return s;
}

// SOL_SOCKET and SO_* are this build's ABI's (mips: 0xffff, 0x1008, ...), from its headers.
int SockOpt(int fd, int opt) {
  int v = -1;
  socklen_t len = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) != 0) return -1;
  return v;
}

// Everything about a fresh fd, in the order the contract lists it.
void Observe(int fd, size_t i, const BatchOut& o, std::string& arena,
             std::vector<Captured>& caps) {
  Captured c;
  c.index = static_cast<uint32_t>(i);

  static const char kFdPrefix[] = "/proc/self/fd/";
  char path[64];
  FdPath(path, kFdPrefix, sizeof kFdPrefix - 1, fd);
  char buf[256];
  ssize_t n = readlink(path, buf, sizeof buf);
  c.link = AppendBytes(arena, buf, n > 0 ? static_cast<size_t>(n) : 0);

  c.fdinfo = ReadFdinfo(arena, fd);

  struct stat st;
  if (fstat(fd, &st) == 0) {
    o.stMode[i] = st.st_mode;
    o.stUid[i] = st.st_uid;
    o.stGid[i] = st.st_gid;
    o.stIno[i] = static_cast<double>(st.st_ino);
  }
  o.fdFlags[i] = fcntl(fd, F_GETFD);
  o.flFlags[i] = fcntl(fd, F_GETFL);
  o.soDomain[i] = SockOpt(fd, SO_DOMAIN);
  o.soType[i] = SockOpt(fd, SO_TYPE);
  o.soProtocol[i] = SockOpt(fd, SO_PROTOCOL);

  // sockfs returns the dentry name with its terminating NUL.
  n = fgetxattr(fd, "system.sockprotoname", buf, sizeof buf);
  size_t plen = n > 0 ? static_cast<size_t>(n) : 0;
  while (plen > 0 && buf[plen - 1] == '\0') --plen;
  c.proto = AppendBytes(arena, buf, plen);

  caps.push_back(c);
}

struct CloseJob {
  const int32_t* fds;
  int32_t* errs;
  size_t n;
  std::atomic<size_t> next{0};
};

void* CloseWorker(void* arg) {
  CloseJob* job = static_cast<CloseJob*>(arg);
  for (;;) {
    size_t i = job->next.fetch_add(1, std::memory_order_relaxed);
    if (i >= job->n) break;
    // close() is not retried on EINTR: on Linux the fd is gone either way.
    job->errs[i] = syscall(SYS_close, job->fds[i]) == 0 ? 0 : errno;
  }
  return nullptr;
}

}  // namespace

bool HasSocketcall() {
#if defined(SYS_socketcall) && defined(__i386__)
  return true;
#else
  return false;
#endif
}

long RawSocket(Route route, int32_t d, int32_t t, int32_t p) {
#if defined(SYS_socketcall) && defined(__i386__)
  if (route == Route::kSocketcall) {
    // net/socket.c sys_socketcall / net/compat.c: SYS_SOCKET (1) and a block of three
    // 32-bit arguments.
    unsigned long args[3] = {static_cast<unsigned long>(d), static_cast<unsigned long>(t),
                             static_cast<unsigned long>(p)};
    return syscall(SYS_socketcall, 1, args);
  }
#else
  (void)route;
#endif
  // Each int goes into its register zero-extended: seccomp sees the whole register, and the
  // model (lib/kernel/kernel/seccomp.ts intRegs) assumes exactly this.
  return syscall(SYS_socket, static_cast<unsigned long>(static_cast<uint32_t>(d)),
                 static_cast<unsigned long>(static_cast<uint32_t>(t)),
                 static_cast<unsigned long>(static_cast<uint32_t>(p)));
}

void RunBatch(Route route, const int32_t* d, const int32_t* t, const int32_t* p, size_t n,
              bool closeNow, const BatchOut& o, std::string& arena,
              std::vector<Captured>& caps, const uint64_t* raw) {
  // A socket() can only return 0 when fd 0 is free: while it is open, 0 is seccomp's
  // ERRNO(0) (the call returned without running), not a new socket.
  bool zeroOpen = fcntl(0, F_GETFD) >= 0;
  for (size_t i = 0; i < n; ++i) {
    // The raw syscall: the errno is exactly the kernel's.
    g_sigsys = 0;
    long r = raw ? syscall(SYS_socket, static_cast<unsigned long>(raw[3 * i]),
                           static_cast<unsigned long>(raw[3 * i + 1]),
                           static_cast<unsigned long>(raw[3 * i + 2]))
                 : RawSocket(route, d[i], t[i], p[i]);
    if (o.sig) o.sig[i] = 0;
    if (g_sigsys) {
      // A seccomp TRAP: the SIGSYS handler made the call return -ENOSYS; report the signal.
      if (o.sig) o.sig[i] = SIGSYS;
      o.err[i] = 0;
      o.fd[i] = o.fdFlags[i] = o.flFlags[i] = -1;
      o.soDomain[i] = o.soType[i] = o.soProtocol[i] = -1;
      continue;
    }
    if (r < 0) {
      o.err[i] = errno;
      o.fd[i] = o.fdFlags[i] = o.flFlags[i] = -1;
      o.soDomain[i] = o.soType[i] = o.soProtocol[i] = -1;
      continue;
    }
    const int s = static_cast<int>(r);
    if (s == 0 && zeroOpen && o.sig) {
      o.sig[i] = -1;
      o.err[i] = 0;
      o.fd[i] = 0;
      o.fdFlags[i] = o.flFlags[i] = o.soDomain[i] = o.soType[i] = o.soProtocol[i] = -1;
      continue;
    }
    if (s == 0) zeroOpen = true;
    o.err[i] = 0;
    o.fd[i] = s;
    Observe(s, i, o, arena, caps);
    if (closeNow) syscall(SYS_close, s);
  }
}

// Each worker blocks in close() on its own; AF_PACKET's release waits for an RCU grace
// period, and closes waiting at the same time share one. pthreads rather than std::thread:
// with C++ exceptions off a failed std::thread constructor aborts the process, while a
// failed pthread_create just means fewer workers (this thread always works too).
void CloseAll(const int32_t* fds, int32_t* errs, size_t n, size_t threads) {
  CloseJob job;
  job.fds = fds;
  job.errs = errs;
  job.n = n;
  size_t extra = threads > 0 ? threads - 1 : 0;
  if (extra > n) extra = n > 0 ? n - 1 : 0;
  std::vector<pthread_t> workers;
  workers.reserve(extra);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  for (size_t k = 0; k < extra; ++k) {
    pthread_t th;
    if (pthread_create(&th, &attr, CloseWorker, &job) != 0) break;
    workers.push_back(th);
  }
  pthread_attr_destroy(&attr);
  CloseWorker(&job);
  for (pthread_t th : workers) pthread_join(th, nullptr);
}

}  // namespace sockbridge
