// seccomp: compile filters with libseccomp (loaded at run time with dlopen, so building the
// addon needs no -dev package), install them, run socket() under them in child processes, and
// read a process's filters back with ptrace. No policy here: TypeScript decides what to
// compile and what a result means.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sched.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "args.h"
#include "road.h"
#include "sockbridge.h"

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

namespace sockbridge {

namespace {

// --- libseccomp, declared here (the prototypes of seccomp.h, libseccomp 2.4+) ---------------
struct ScmpArgCmp {
  unsigned int arg;
  int op;  // enum scmp_compare
  uint64_t datum_a;
  uint64_t datum_b;
};
struct ScmpVersion {
  unsigned int major, minor, micro;
};
struct Libseccomp {
  void* handle = nullptr;
  std::string error;
  void* (*init)(uint32_t) = nullptr;
  void (*release)(void*) = nullptr;
  int (*arch_add)(void*, uint32_t) = nullptr;
  int (*arch_remove)(void*, uint32_t) = nullptr;
  uint32_t (*arch_native)() = nullptr;
  uint32_t (*arch_resolve_name)(const char*) = nullptr;
  int (*syscall_resolve_name_arch)(uint32_t, const char*) = nullptr;
  int (*rule_add_array)(void*, uint32_t, int, unsigned int, const ScmpArgCmp*) = nullptr;
  int (*rule_add_exact_array)(void*, uint32_t, int, unsigned int, const ScmpArgCmp*) = nullptr;
  int (*attr_set)(void*, int, uint32_t) = nullptr;
  int (*export_bpf)(void*, int) = nullptr;
  const ScmpVersion* (*version)() = nullptr;
};

Libseccomp& Lib() {
  static Libseccomp lib;
  static bool tried = false;
  if (tried) return lib;
  tried = true;
  void* h = dlopen("libseccomp.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    lib.error = std::string("cannot load libseccomp.so.2 (") + (e ? e : "not found") + ")";
    return lib;
  }
  bool ok = true;
  auto sym = [&](const char* name) {
    void* p = dlsym(h, name);
    if (!p) {
      ok = false;
      lib.error = std::string("libseccomp.so.2 has no ") + name + " (libseccomp 2.4 or later is needed)";
    }
    return p;
  };
  lib.init = reinterpret_cast<void* (*)(uint32_t)>(sym("seccomp_init"));
  lib.release = reinterpret_cast<void (*)(void*)>(sym("seccomp_release"));
  lib.arch_add = reinterpret_cast<int (*)(void*, uint32_t)>(sym("seccomp_arch_add"));
  lib.arch_remove = reinterpret_cast<int (*)(void*, uint32_t)>(sym("seccomp_arch_remove"));
  lib.arch_native = reinterpret_cast<uint32_t (*)()>(sym("seccomp_arch_native"));
  lib.arch_resolve_name = reinterpret_cast<uint32_t (*)(const char*)>(sym("seccomp_arch_resolve_name"));
  lib.syscall_resolve_name_arch =
      reinterpret_cast<int (*)(uint32_t, const char*)>(sym("seccomp_syscall_resolve_name_arch"));
  lib.rule_add_array = reinterpret_cast<int (*)(void*, uint32_t, int, unsigned int, const ScmpArgCmp*)>(
      sym("seccomp_rule_add_array"));
  lib.rule_add_exact_array =
      reinterpret_cast<int (*)(void*, uint32_t, int, unsigned int, const ScmpArgCmp*)>(
          sym("seccomp_rule_add_exact_array"));
  lib.attr_set = reinterpret_cast<int (*)(void*, int, uint32_t)>(sym("seccomp_attr_set"));
  lib.export_bpf = reinterpret_cast<int (*)(void*, int)>(sym("seccomp_export_bpf"));
  lib.version = reinterpret_cast<const ScmpVersion* (*)()>(sym("seccomp_version"));
  if (!ok) {
    dlclose(h);
    return lib;
  }
  lib.handle = h;
  return lib;
}

Napi::Object ErrorObject(Napi::Env env, const std::string& msg, int err = 0) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("error", msg);
  if (err) o.Set("errno", err);
  return o;
}

uint32_t U32(Napi::Value v) { return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : 0; }

// Install one program; 0 or errno.
int InstallProgram(const sock_filter* insns, size_t n, unsigned int flags) {
  sock_fprog prog;
  prog.len = static_cast<unsigned short>(n);
  prog.filter = const_cast<sock_filter*>(insns);
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) != 0) return errno;
  return 0;
}

// Uint32Array of 4 words per instruction -> sock_filter vector.
bool ToFilter(Napi::Env env, Napi::Value v, const char* fn, const char* what,
              std::vector<sock_filter>* out) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    ThrowType(env, Arg(fn, what) + " must be a Uint32Array of [code, jt, jf, k] words");
    return false;
  }
  Napi::Uint32Array a = v.As<Napi::Uint32Array>();
  size_t n = a.ElementLength();
  if (n == 0 || n % 4 != 0 || n / 4 > BPF_MAXINSNS) {
    ThrowRange(env, Arg(fn, what) + " must hold 1..4096 instructions of 4 words each");
    return false;
  }
  out->resize(n / 4);
  for (size_t i = 0; i < n / 4; ++i) {
    (*out)[i].code = static_cast<uint16_t>(a[4 * i]);
    (*out)[i].jt = static_cast<uint8_t>(a[4 * i + 1]);
    (*out)[i].jf = static_cast<uint8_t>(a[4 * i + 2]);
    (*out)[i].k = a[4 * i + 3];
  }
  return true;
}

int g_trap_data = 0;

void OnSigsys(int, siginfo_t* info, void* uctx) {
  if (info->si_code != SYS_SECCOMP) return;
  g_sigsys = 1;
  g_trap_data = info->si_errno;
#if defined(__x86_64__)
  // The kernel rolled the registers back (rax = the syscall number): make the interrupted
  // call return -ENOSYS instead, so no caller mistakes the number for an fd.
  ucontext_t* uc = static_cast<ucontext_t*>(uctx);
  uc->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
#else
  (void)uctx;
#endif
}

void CatchSigsys() {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = OnSigsys;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSYS, &sa, nullptr);
}

}  // namespace

// seccompLibrary(): {version: "2.5.4"} or {error}
Napi::Value SeccompLibrary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Libseccomp& L = Lib();
  if (!L.handle) return ErrorObject(env, L.error);
  const ScmpVersion* v = L.version();
  Napi::Object o = Napi::Object::New(env);
  o.Set("version", std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                       std::to_string(v->micro));
  o.Set("native", L.arch_native());
  return o;
}

// seccompResolve(arch: string, names: string[]): {arch: token, nrs: Int32Array} or {error}
// A name libseccomp does not know on that arch gives a negative number (__NR_SCMP_ERROR).
Napi::Value SeccompResolve(const Napi::CallbackInfo& info) {
  static const char kFn[] = "seccompResolve";
  Napi::Env env = info.Env();
  Libseccomp& L = Lib();
  if (!L.handle) return ErrorObject(env, L.error);
  if (!info[0].IsString() || !info[1].IsArray()) {
    ThrowType(env, std::string(kFn) + "(arch: string, names: string[])");
    return env.Undefined();
  }
  std::string arch = info[0].As<Napi::String>().Utf8Value();
  uint32_t token = arch == "native" ? L.arch_native() : L.arch_resolve_name(arch.c_str());
  if (token == 0) return ErrorObject(env, "libseccomp does not know the architecture \"" + arch + "\"");
  Napi::Array names = info[1].As<Napi::Array>();
  Napi::Int32Array nrs = Napi::Int32Array::New(env, names.Length());
  for (uint32_t i = 0; i < names.Length(); ++i) {
    Napi::Value n = names.Get(i);
    if (!n.IsString()) {
      ThrowType(env, Arg(kFn, "names") + " must hold strings");
      return env.Undefined();
    }
    nrs[i] = L.syscall_resolve_name_arch(token, n.As<Napi::String>().Utf8Value().c_str());
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("arch", token);
  o.Set("nrs", nrs);
  return o;
}

// seccompCompile(spec): {insns: Uint32Array} or {error, errno?, rule?}
//   spec = {defaultAction, badArchAction?, arches: string[] (added), removeNative: bool,
//           attrs: [[attr, value]...], exact: bool,
//           rules: [{nr, action, conds: [[arg, op, aLo, aHi, bLo, bHi], ...]}]}
Napi::Value SeccompCompile(const Napi::CallbackInfo& info) {
  static const char kFn[] = "seccompCompile";
  Napi::Env env = info.Env();
  Libseccomp& L = Lib();
  if (!L.handle) return ErrorObject(env, L.error);
  if (!info[0].IsObject()) {
    ThrowType(env, Arg(kFn, "spec") + " must be an object");
    return env.Undefined();
  }
  Napi::Object spec = info[0].As<Napi::Object>();
  void* ctx = L.init(U32(spec.Get("defaultAction")));
  if (!ctx) return ErrorObject(env, "seccomp_init refused the default action");
  struct Release {
    Libseccomp& L;
    void* ctx;
    ~Release() { L.release(ctx); }
  } release{L, ctx};
  uint32_t native = L.arch_native();
  Napi::Value archesV = spec.Get("arches");
  bool haveNative = false;
  if (archesV.IsArray()) {
    Napi::Array arches = archesV.As<Napi::Array>();
    for (uint32_t i = 0; i < arches.Length(); ++i) {
      std::string a = arches.Get(i).ToString().Utf8Value();
      uint32_t t = L.arch_resolve_name(a.c_str());
      if (t == 0) return ErrorObject(env, "libseccomp does not know the architecture \"" + a + "\"");
      if (t == native) {
        haveNative = true;
        continue;
      }
      int r = L.arch_add(ctx, t);
      if (r < 0 && r != -EEXIST) return ErrorObject(env, "seccomp_arch_add(" + a + ") failed", -r);
    }
  }
  if (spec.Get("removeNative").ToBoolean().Value() && !haveNative) {
    int r = L.arch_remove(ctx, native);
    if (r < 0) return ErrorObject(env, "seccomp_arch_remove(native) failed", -r);
  }
  Napi::Value attrsV = spec.Get("attrs");
  if (attrsV.IsArray()) {
    Napi::Array attrs = attrsV.As<Napi::Array>();
    for (uint32_t i = 0; i < attrs.Length(); ++i) {
      Napi::Array kv = attrs.Get(i).As<Napi::Array>();
      int attr = static_cast<int>(U32(kv.Get(0u)));
      int r = L.attr_set(ctx, attr, U32(kv.Get(1u)));
      if (r < 0) return ErrorObject(env, "seccomp_attr_set(" + std::to_string(attr) + ") failed", -r);
    }
  }
  bool exact = spec.Get("exact").ToBoolean().Value();
  Napi::Value rulesV = spec.Get("rules");
  if (rulesV.IsArray()) {
    Napi::Array rules = rulesV.As<Napi::Array>();
    for (uint32_t i = 0; i < rules.Length(); ++i) {
      Napi::Object rule = rules.Get(i).As<Napi::Object>();
      int nr = rule.Get("nr").As<Napi::Number>().Int32Value();
      uint32_t action = U32(rule.Get("action"));
      std::vector<ScmpArgCmp> cmps;
      Napi::Value condsV = rule.Get("conds");
      if (condsV.IsArray()) {
        Napi::Array conds = condsV.As<Napi::Array>();
        for (uint32_t j = 0; j < conds.Length(); ++j) {
          Napi::Array c = conds.Get(j).As<Napi::Array>();
          ScmpArgCmp a;
          a.arg = U32(c.Get(0u));
          a.op = static_cast<int>(U32(c.Get(1u)));
          a.datum_a = (static_cast<uint64_t>(U32(c.Get(3u))) << 32) | U32(c.Get(2u));
          a.datum_b = (static_cast<uint64_t>(U32(c.Get(5u))) << 32) | U32(c.Get(4u));
          cmps.push_back(a);
        }
      }
      int r = exact ? L.rule_add_exact_array(ctx, action, nr, cmps.size(), cmps.data())
                    : L.rule_add_array(ctx, action, nr, cmps.size(), cmps.data());
      if (r < 0) {
        Napi::Object e = ErrorObject(env, "seccomp_rule_add failed", -r);
        e.Set("rule", i);
        return e;
      }
    }
  }
  int mfd = static_cast<int>(syscall(SYS_memfd_create, "sockbridge-bpf", MFD_CLOEXEC));
  if (mfd < 0) return ErrorObject(env, "memfd_create failed", errno);
  int r = L.export_bpf(ctx, mfd);
  if (r < 0) {
    close(mfd);
    return ErrorObject(env, "seccomp_export_bpf failed", -r);
  }
  off_t size = lseek(mfd, 0, SEEK_END);
  std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
  ssize_t got = size > 0 ? pread(mfd, prog.data(), static_cast<size_t>(size), 0) : 0;
  int err = errno;
  close(mfd);
  if (got != size) return ErrorObject(env, "reading the exported program failed", err);
  Napi::Uint32Array out = Napi::Uint32Array::New(env, prog.size() * 4);
  for (size_t i = 0; i < prog.size(); ++i) {
    out[4 * i] = prog[i].code;
    out[4 * i + 1] = prog[i].jt;
    out[4 * i + 2] = prog[i].jf;
    out[4 * i + 3] = prog[i].k;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("insns", out);
  return o;
}

// seccompInstall(insns: Uint32Array): errno (0 = installed). Sets no_new_privs, catches
// SIGSYS (a TRAP then makes the call return -ENOSYS with g_sigsys set, which probeBatch
// reports as a signal), installs the filter on every thread (TSYNC). Irreversible: for
// worker processes only.
Napi::Value SeccompInstall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<sock_filter> f;
  if (!ToFilter(env, info[0], "seccompInstall", "insns", &f)) return env.Undefined();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Napi::Number::New(env, errno);
  CatchSigsys();
  return Napi::Number::New(env, InstallProgram(f.data(), f.size(), SECCOMP_FILTER_FLAG_TSYNC));
}

// seccompTrial(programs: Uint32Array[], args: BigUint64Array (3 per case)):
//   {ret: Float64Array (value returned, -errno), signal: Int32Array (0, or the signal),
//    fatal: Uint8Array, installErr: errno of the first program the kernel refused (0: all in)}
// A child process (clone with CLONE_VM | CLONE_VFORK: it shares this memory and this process
// waits while it runs, so no address space is copied) sets no_new_privs, installs the programs
// in order and makes each call with syscall(SYS_socket, a0, a1, a2) as 64-bit registers,
// closing what it creates. Filters are per task, so this process gets none of them. A trapped
// call is caught (SIGSYS, si_code SYS_SECCOMP); a killed child is restarted after the case
// that killed it, with the same programs.
namespace {
struct TrialJob {
  const std::vector<std::vector<sock_filter>>* progs;
  const uint64_t* args;
  size_t n;
  size_t next;           // the child's next case; written by the child
  int installErr;
  int64_t* ret;
  int32_t* sig;
};

int TrialChild(void* p) {
  TrialJob* job = static_cast<TrialJob*>(p);
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // Node's own fault handlers must not run here: a filter under test may refuse exit_group,
  // and glibc's _exit then ends in a fault, which should just kill the child. (The handler
  // table is the child's own copy: no CLONE_SIGHAND.)
  signal(SIGSEGV, SIG_DFL);
  signal(SIGBUS, SIG_DFL);
  signal(SIGILL, SIG_DFL);
  signal(SIGABRT, SIG_DFL);
  CatchSigsys();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    job->installErr = errno;
    _exit(2);
  }
  for (auto& f : *job->progs) {
    int e = InstallProgram(f.data(), f.size(), 0);
    if (e) {
      job->installErr = e;
      _exit(2);
    }
  }
  const uint64_t* a = job->args;
  for (size_t i = job->next; i < job->n; ++i) {
    g_sigsys = 0;
    long r = syscall(SYS_socket, a[3 * i], a[3 * i + 1], a[3 * i + 2]);
    int e = errno;
    if (g_sigsys) {
      job->sig[i] = SIGSYS;
      job->ret[i] = 0;
    } else {
      job->ret[i] = r < 0 ? -e : r;
      // fd 0 is open here, so a socket never gets it: 0 is seccomp's ERRNO(0).
      if (r > 0) close(static_cast<int>(r));
    }
    job->next = i + 1;
  }
  _exit(0);
}
}  // namespace

Napi::Value SeccompTrial(const Napi::CallbackInfo& info) {
  static const char kFn[] = "seccompTrial";
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) {
    ThrowType(env, Arg(kFn, "programs") + " must be an array of Uint32Array");
    return env.Undefined();
  }
  Napi::Array progsA = info[0].As<Napi::Array>();
  std::vector<std::vector<sock_filter>> progs(progsA.Length());
  for (uint32_t i = 0; i < progsA.Length(); ++i) {
    if (!ToFilter(env, progsA.Get(i), kFn, "programs[i]", &progs[i])) return env.Undefined();
  }
  if (!info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array) {
    ThrowType(env, Arg(kFn, "args") + " must be a BigUint64Array, 3 registers per case");
    return env.Undefined();
  }
  Napi::TypedArrayOf<uint64_t> args = info[1].As<Napi::TypedArrayOf<uint64_t>>();
  size_t n = args.ElementLength() / 3;
  std::vector<int64_t> ret(n, 0);
  std::vector<int32_t> sig(n, 0);
  std::vector<uint8_t> fatal(n, 0);
  TrialJob job{&progs, args.Data(), n, 0, 0, ret.data(), sig.data()};
  const size_t kStack = 256 * 1024;
  void* stack = mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return ErrorObject(env, "mmap failed", errno);
  // dumpable is a property of the mm the child shares: cleared while it runs (a KILL must not
  // write a core dump, and with it cleared do_coredump stops before touching anything), then
  // restored.
  int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  int failure = 0;
  while (job.next < n && failure == 0 && job.installErr == 0) {
    size_t before = job.next;
    pid_t pid = clone(TrialChild, static_cast<char*>(stack) + kStack, CLONE_VM | CLONE_VFORK | SIGCHLD, &job);
    if (pid < 0) {
      failure = errno;
      break;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (job.installErr) break;
    if (WIFSIGNALED(status)) {
      size_t done = job.next;
      if (done < n) {
        sig[done] = WTERMSIG(status);
        fatal[done] = 1;
        job.next = done + 1;
      }
    } else if (job.next == before || job.next < n) {
      failure = EIO;  // the child exited early without saying why
    }
  }
  prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
  munmap(stack, kStack);
  Napi::Float64Array retA = Napi::Float64Array::New(env, n);
  Napi::Int32Array sigA = Napi::Int32Array::New(env, n);
  Napi::Uint8Array fatA = Napi::Uint8Array::New(env, n);
  for (size_t i = 0; i < n; ++i) {
    retA[i] = static_cast<double>(ret[i]);
    sigA[i] = sig[i];
    fatA[i] = fatal[i];
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("ret", retA);
  o.Set("signal", sigA);
  o.Set("fatal", fatA);
  o.Set("installErr", job.installErr);
  if (failure) o.Set("errno", failure);
  return o;
}

// seccompReadFilters(pid, stopChild?): {filters: Uint32Array[]} or {errno, stage}.
// PTRACE_ATTACH, then PTRACE_SECCOMP_GET_FILTER for index 0, 1, ... until ENOENT, then
// detach. pid 0: a helper child of this process (it shares the caller's filters), killed after.
Napi::Value SeccompReadFilters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) {
    ThrowType(env, Arg("seccompReadFilters", "pid") + " must be a number");
    return env.Undefined();
  }
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  bool helper = pid == 0;
  if (helper) {
    pid = fork();
    if (pid < 0) return ErrorObject(env, "fork", errno);
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      for (;;) pause();
    }
  }
  auto finish = [&](Napi::Object o) {
    if (helper) {
      kill(pid, SIGKILL);
      while (waitpid(pid, nullptr, __WALL) < 0 && errno == EINTR) {
      }
    }
    return o;
  };
  if (ptrace(PTRACE_ATTACH, pid, nullptr, nullptr) != 0) {
    Napi::Object e = ErrorObject(env, "PTRACE_ATTACH", errno);
    return finish(e);
  }
  int status;
  while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {
  }
  Napi::Array filters = Napi::Array::New(env);
  std::vector<sock_filter> buf(BPF_MAXINSNS);
  int err = 0;
  for (unsigned long idx = 0;; ++idx) {
    long n = ptrace(static_cast<__ptrace_request>(PTRACE_SECCOMP_GET_FILTER), pid,
                    reinterpret_cast<void*>(idx), buf.data());
    if (n < 0) {
      err = errno;
      break;
    }
    Napi::Uint32Array f = Napi::Uint32Array::New(env, static_cast<size_t>(n) * 4);
    for (long i = 0; i < n; ++i) {
      const uint32_t j = static_cast<uint32_t>(i);
      f[4 * j] = buf[i].code;
      f[4 * j + 1] = buf[i].jt;
      f[4 * j + 2] = buf[i].jf;
      f[4 * j + 3] = buf[i].k;
    }
    filters.Set(static_cast<uint32_t>(idx), f);
  }
  ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
  Napi::Object o = Napi::Object::New(env);
  o.Set("filters", filters);
  // ENOENT after the last filter is the normal end; anything else says why reading stopped.
  o.Set("errno", err);
  return finish(o);
}

}  // namespace sockbridge
