// The hot path of a sweep: many socket() calls in one crossing, each new fd observed at
// once, and the parallel close of deferred fds.
//
// While the batch runs, this thread holds no fd of its own: an extra fd (say, a cached
// /proc/self/fd directory) would change which fd number the kernel hands out, and the fd
// number is one of the things being checked. /proc files are opened by path after socket()
// returned and closed before the next socket() call. No JS value is created until every
// syscall is done, so nothing JS can run (a GC finalizer closing a FileHandle, say) between
// a socket() and its observations.
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "sockbridge.h"

namespace sockbridge {
namespace {

constexpr int kMaxCloseThreads = 256;

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

// Where one successful case's strings sit in the arena.
struct Span {
  uint32_t off = 0;
  uint32_t len = 0;
};
struct Captured {
  uint32_t index;
  Span link, fdinfo, proto;
};

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

int SockOpt(int fd, int opt) {
  int v = -1;
  socklen_t len = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) != 0) return -1;
  return v;
}

struct BatchOut {
  int32_t* err;
  int32_t* fd;
  int32_t* fdFlags;
  int32_t* flFlags;
  int32_t* soDomain;
  int32_t* soType;
  int32_t* soProtocol;
  uint32_t* stMode;
  uint32_t* stUid;
  uint32_t* stGid;
  double* stIno;
};

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

}  // namespace

Napi::Value ProbeBatch(const Napi::CallbackInfo& info) {
  static const char kFn[] = "probeBatch";
  Napi::Env env = info.Env();
  Napi::Int32Array domains, types, protocols;
  if (!GetInt32Array(env, info[0], kFn, "domains", &domains) ||
      !GetInt32Array(env, info[1], kFn, "types", &types) ||
      !GetInt32Array(env, info[2], kFn, "protocols", &protocols)) {
    return env.Undefined();
  }
  const size_t n = domains.ElementLength();
  if (types.ElementLength() != n || protocols.ElementLength() != n) {
    ThrowRange(env, std::string(kFn) + ": arguments \"domains\", \"types\" and \"protocols\" must "
               "have the same length, got " + std::to_string(n) + ", " +
               std::to_string(types.ElementLength()) + " and " +
               std::to_string(protocols.ElementLength()));
    return env.Undefined();
  }
  if (n > UINT32_MAX) {
    ThrowRange(env, Arg(kFn, "domains") + " is too long");
    return env.Undefined();
  }
  if (!info[3].IsObject()) {
    ThrowType(env, Arg(kFn, "options") + " must be an object {close: 'now' | 'defer'}, got " +
              Describe(info[3]));
    return env.Undefined();
  }
  Napi::Value closeOpt = info[3].As<Napi::Object>().Get("close");
  if (env.IsExceptionPending()) return env.Undefined();
  bool closeNow;
  std::string closeStr = closeOpt.IsString() ? closeOpt.As<Napi::String>().Utf8Value() : "";
  if (closeStr == "now") {
    closeNow = true;
  } else if (closeStr == "defer") {
    closeNow = false;
  } else {
    ThrowType(env, std::string(kFn) + ": option \"close\" of argument \"options\" must be 'now' or "
              "'defer', got " + Describe(closeOpt));
    return env.Undefined();
  }

  Napi::Int32Array err = Napi::Int32Array::New(env, n);
  Napi::Int32Array fd = Napi::Int32Array::New(env, n);
  Napi::Int32Array fdFlags = Napi::Int32Array::New(env, n);
  Napi::Int32Array flFlags = Napi::Int32Array::New(env, n);
  Napi::Int32Array soDomain = Napi::Int32Array::New(env, n);
  Napi::Int32Array soType = Napi::Int32Array::New(env, n);
  Napi::Int32Array soProtocol = Napi::Int32Array::New(env, n);
  Napi::Uint32Array stMode = Napi::Uint32Array::New(env, n);
  Napi::Uint32Array stUid = Napi::Uint32Array::New(env, n);
  Napi::Uint32Array stGid = Napi::Uint32Array::New(env, n);
  Napi::Float64Array stIno = Napi::Float64Array::New(env, n);
  if (env.IsExceptionPending()) return env.Undefined();
  const BatchOut o{err.Data(),      fd.Data(),     fdFlags.Data(), flFlags.Data(),
                   soDomain.Data(), soType.Data(), soProtocol.Data(), stMode.Data(),
                   stUid.Data(),    stGid.Data(),  stIno.Data()};
  const int32_t* d = domains.Data();
  const int32_t* t = types.Data();
  const int32_t* p = protocols.Data();

  std::string arena;
  std::vector<Captured> caps;
  for (size_t i = 0; i < n; ++i) {
    // The raw syscall: the errno is exactly the kernel's.
    long r = syscall(SYS_socket, d[i], t[i], p[i]);
    if (r < 0) {
      o.err[i] = errno;
      o.fd[i] = o.fdFlags[i] = o.flFlags[i] = -1;
      o.soDomain[i] = o.soType[i] = o.soProtocol[i] = -1;
      continue;
    }
    const int s = static_cast<int>(r);
    o.fd[i] = s;
    Observe(s, i, o, arena, caps);
    if (closeNow) syscall(SYS_close, s);
  }

  // Only now, with every syscall done, build the strings. Most cases of a sweep fail, so the
  // arrays start as Array(n).fill(""), filled inside V8 (one napi call per element would cost
  // more than the failed socket() itself), and only successful cases are set one by one.
  Napi::Array link = FilledArray(env, n);
  Napi::Array fdinfo = FilledArray(env, n);
  Napi::Array protoName = FilledArray(env, n);
  if (env.IsExceptionPending()) return env.Undefined();
  for (const Captured& c : caps) {
    link.Set(c.index, Str(env, arena, c.link));
    fdinfo.Set(c.index, Str(env, arena, c.fdinfo));
    protoName.Set(c.index, Str(env, arena, c.proto));
    if (env.IsExceptionPending()) return env.Undefined();
  }

  Napi::Object out = Napi::Object::New(env);
  out.Set("errno", err);
  out.Set("fd", fd);
  out.Set("fdFlags", fdFlags);
  out.Set("flFlags", flFlags);
  out.Set("soDomain", soDomain);
  out.Set("soType", soType);
  out.Set("soProtocol", soProtocol);
  out.Set("stMode", stMode);
  out.Set("stUid", stUid);
  out.Set("stGid", stGid);
  out.Set("stIno", stIno);
  out.Set("link", link);
  out.Set("fdinfo", fdinfo);
  out.Set("protoName", protoName);
  return out;
}

namespace {

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

// Each worker blocks in close() on its own; AF_PACKET's release waits for an RCU grace
// period, and closes waiting at the same time share one. pthreads rather than std::thread:
// with C++ exceptions off a failed std::thread constructor aborts the process, while a
// failed pthread_create just means fewer workers (this thread always works too).
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

  CloseJob job;
  job.fds = fds.Data();
  job.errs = errs.Data();
  job.n = n;
  size_t extra = static_cast<size_t>(threadsD) - 1;
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
  return errs;
}

}  // namespace sockbridge
