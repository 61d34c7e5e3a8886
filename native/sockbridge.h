// The functions addon.cc exports. Each validates its arguments (see args.h) and returns
// what the kernel said as data; a failed syscall is an errno, never an exception.
#pragma once

#include <napi.h>
#include <signal.h>

#include <cstring>
#include <vector>

namespace sockbridge {

// Per-environment state, set up once by addon.cc when the module loads.
struct AddonData {
  // Array.prototype.fill as it was at load time.
  Napi::FunctionReference arrayFill;
};

inline AddonData& Intrinsics(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

// A new typed array (A: Napi::Int32Array, Napi::Float64Array, ...) holding a copy of v.
template <typename A, typename T>
A TypedCopy(Napi::Env env, const std::vector<T>& v) {
  A a = A::New(env, v.size());
  if (!env.IsExceptionPending() && !v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(T));
  return a;
}

// probe.cc
Napi::Value ProbeBatch(const Napi::CallbackInfo& info);
Napi::Value CloseFds(const Napi::CallbackInfo& info);
Napi::Value ProbeBatchStart(const Napi::CallbackInfo& info);
Napi::Value ProbeBatchJoin(const Napi::CallbackInfo& info);
Napi::Value ProbeBatchDone(const Napi::CallbackInfo& info);
Napi::Value OpenFds(const Napi::CallbackInfo& info);

// host.cc
Napi::Value Uname(const Napi::CallbackInfo& info);
Napi::Value GetRlimit(const Napi::CallbackInfo& info);
Napi::Value SetRlimit(const Napi::CallbackInfo& info);
Napi::Value CapGet(const Napi::CallbackInfo& info);
Napi::Value GetIds(const Napi::CallbackInfo& info);
Napi::Value Constants(const Napi::CallbackInfo& info);
Napi::Value StrErrorName(const Napi::CallbackInfo& info);
Napi::Value NsOwnerInode(const Napi::CallbackInfo& info);

// seccomp.cc
Napi::Value SeccompLibrary(const Napi::CallbackInfo& info);
Napi::Value SeccompResolve(const Napi::CallbackInfo& info);
Napi::Value SeccompCompile(const Napi::CallbackInfo& info);
Napi::Value SeccompInstall(const Napi::CallbackInfo& info);
Napi::Value SeccompTrial(const Napi::CallbackInfo& info);
Napi::Value SeccompReadFilters(const Napi::CallbackInfo& info);
// lsm.cc
Napi::Value LandlockProbe(const Napi::CallbackInfo& info);
Napi::Value BpfObjects(const Napi::CallbackInfo& info);
Napi::Value BpfCgroupQuery(const Napi::CallbackInfo& info);
// userns.cc
Napi::Value UsernsLevelProbe(const Napi::CallbackInfo& info);

// diag.cc
Napi::Value DiagUnix(const Napi::CallbackInfo& info);
Napi::Value DiagInet(const Napi::CallbackInfo& info);

}  // namespace sockbridge
