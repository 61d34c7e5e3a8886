// The functions addon.cc exports. Each validates its arguments (see args.h) and returns
// what the kernel said as data; a failed syscall is an errno, never an exception.
#pragma once

#include <napi.h>

namespace sockbridge {

// probe.cc
Napi::Value ProbeBatch(const Napi::CallbackInfo& info);
Napi::Value CloseFds(const Napi::CallbackInfo& info);

// host.cc
Napi::Value Uname(const Napi::CallbackInfo& info);
Napi::Value GetRlimit(const Napi::CallbackInfo& info);
Napi::Value SetRlimit(const Napi::CallbackInfo& info);
Napi::Value CapGet(const Napi::CallbackInfo& info);
Napi::Value GetIds(const Napi::CallbackInfo& info);
Napi::Value Constants(const Napi::CallbackInfo& info);
Napi::Value StrErrorName(const Napi::CallbackInfo& info);
Napi::Value NsOwnerInode(const Napi::CallbackInfo& info);

}  // namespace sockbridge
