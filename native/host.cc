// Facts about the process and the kernel, as syscalls report them, and the constants as
// this machine's headers define them. No interpretation: lib/host/ decides what they mean.
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "args.h"
#include "sockbridge.h"

namespace sockbridge {
namespace {

// 2^53 - 1: the largest rlimit a JS number holds exactly.
constexpr double kMaxSafeInteger = 9007199254740991.0;

struct Rlimit64 {
  uint64_t cur;
  uint64_t max;
};
constexpr uint64_t kRlimInfinity = ~uint64_t{0};

double RlimToJs(uint64_t v) { return v == kRlimInfinity ? -1.0 : static_cast<double>(v); }

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

Napi::Value Uname(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct utsname u;
  if (uname(&u) != 0) {
    // uname(2) fails only for a bad buffer; nothing a caller could act on.
    Napi::Error::New(env, std::string("uname: ") + strerror(errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("sysname", u.sysname);
  o.Set("nodename", u.nodename);
  o.Set("release", u.release);
  o.Set("version", u.version);
  o.Set("machine", u.machine);
  return o;
}

// prlimit64(0, ...) is what getrlimit/setrlimit become in glibc; calling it directly passes
// the resource number through untouched and keeps the kernel's errno.
Napi::Value GetRlimit(const Napi::CallbackInfo& info) {
  static const char kFn[] = "getrlimit";
  Napi::Env env = info.Env();
  int32_t resource;
  if (!GetInt32(env, info[0], kFn, "resource", &resource)) return env.Undefined();
  Rlimit64 lim;
  if (syscall(SYS_prlimit64, 0, resource, nullptr, &lim) != 0) {
    // The contract has no room for an errno here, and the only failure is a resource number
    // the kernel does not know: that is misuse.
    const int e = errno;
    ThrowRange(env, Arg(kFn, "resource") + " must be a resource number the kernel knows (0.." +
                        std::to_string(RLIM_NLIMITS - 1) + " in these headers), got " +
                        std::to_string(resource) + ": " + strerror(e));
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, RlimToJs(lim.cur)));
  out.Set(1u, Napi::Number::New(env, RlimToJs(lim.max)));
  return out;
}

Napi::Value SetRlimit(const Napi::CallbackInfo& info) {
  static const char kFn[] = "setrlimit";
  Napi::Env env = info.Env();
  int32_t resource;
  double soft, hard;
  static const char kLimitRange[] = "-1 (RLIM_INFINITY) or an integer 0..2^53-1";
  if (!GetInt32(env, info[0], kFn, "resource", &resource) ||
      !GetInteger(env, info[1], kFn, "soft", -1, kMaxSafeInteger, kLimitRange, &soft) ||
      !GetInteger(env, info[2], kFn, "hard", -1, kMaxSafeInteger, kLimitRange, &hard)) {
    return env.Undefined();
  }
  Rlimit64 lim{soft < 0 ? kRlimInfinity : static_cast<uint64_t>(soft),
               hard < 0 ? kRlimInfinity : static_cast<uint64_t>(hard)};
  long r = syscall(SYS_prlimit64, 0, resource, &lim, nullptr);
  return Napi::Number::New(env, r == 0 ? 0 : errno);
}

Napi::Value CapGet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &hdr, data) != 0) {
    // Fails only with a bad pointer or version; the contract has no errno field.
    Napi::Error::New(env, std::string("capget: ") + strerror(errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto word = [&](uint32_t __user_cap_data_struct::*field) {
    return (static_cast<uint64_t>(data[1].*field) << 32) | data[0].*field;
  };
  // The kernel's CAP_LAST_CAP may be newer than these headers: ask until it says EINVAL.
  uint64_t bounding = 0;
  for (int cap = 0; cap < 64; ++cap) {
    int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (r < 0) break;
    if (r == 1) bounding |= uint64_t{1} << cap;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("effective", Hex64(word(&__user_cap_data_struct::effective)));
  o.Set("permitted", Hex64(word(&__user_cap_data_struct::permitted)));
  o.Set("inheritable", Hex64(word(&__user_cap_data_struct::inheritable)));
  o.Set("bounding", Hex64(bounding));
  return o;
}

Napi::Value GetIds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  getresuid(&ruid, &euid, &suid);
  getresgid(&rgid, &egid, &sgid);
  std::vector<gid_t> groups;
  // The list can change between the two calls (another thread's setgroups): retry.
  for (;;) {
    int count = getgroups(0, nullptr);
    if (count < 0) count = 0;
    groups.resize(static_cast<size_t>(count));
    int got = getgroups(count, groups.data());
    if (got >= 0) {
      groups.resize(static_cast<size_t>(got));
      break;
    }
    if (errno != EINVAL) {
      groups.clear();
      break;
    }
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("ruid", Napi::Number::New(env, ruid));
  o.Set("euid", Napi::Number::New(env, euid));
  o.Set("suid", Napi::Number::New(env, suid));
  o.Set("rgid", Napi::Number::New(env, rgid));
  o.Set("egid", Napi::Number::New(env, egid));
  o.Set("sgid", Napi::Number::New(env, sgid));
  Napi::Array g = Napi::Array::New(env, groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    g.Set(static_cast<uint32_t>(i), Napi::Number::New(env, groups[i]));
  }
  o.Set("groups", g);
  return o;
}

Napi::Value Constants(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  // Each name is guarded: a name these headers lack is simply absent from the object.
#define C(name) o.Set(#name, Napi::Number::New(env, static_cast<double>(name)));
#include "constants.inc"
#undef C
  // glibc declares IPPROTO_MAX as an enum member only (no #define), in every version.
  o.Set("IPPROTO_MAX", Napi::Number::New(env, IPPROTO_MAX));
  // linux/netlink.h calls it MAX_LINKS; the NETLINK_ prefix says what it bounds.
  o.Set("NETLINK_MAX_LINKS", Napi::Number::New(env, MAX_LINKS));
  return o;
}

Napi::Value StrErrorName(const Napi::CallbackInfo& info) {
  static const char kFn[] = "strerrorname";
  Napi::Env env = info.Env();
  int32_t e;
  if (!GetInt32(env, info[0], kFn, "errno", &e)) return env.Undefined();
  const char* name = nullptr;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  name = strerrorname_np(e);
#endif
  return Napi::String::New(env, name ? name : "");
}

Napi::Value NsOwnerInode(const Napi::CallbackInfo& info) {
  static const char kFn[] = "nsOwnerInode";
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    ThrowType(env, Arg(kFn, "path") + " must be a string (e.g. \"/proc/self/ns/net\"), got " +
                       Describe(info[0]));
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (path.find('\0') != std::string::npos) {
    ThrowType(env, Arg(kFn, "path") + " must not contain a NUL character");
    return env.Undefined();
  }
  int ns = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0) return Napi::Number::New(env, -errno);
  int owner = ioctl(ns, NS_GET_USERNS);
  int e = errno;
  close(ns);
  if (owner < 0) return Napi::Number::New(env, -e);
  struct stat st;
  int r = fstat(owner, &st);
  e = errno;
  close(owner);
  if (r != 0) return Napi::Number::New(env, -e);
  return Napi::Number::New(env, static_cast<double>(st.st_ino));
}

}  // namespace sockbridge
