// The hot path of a sweep, as the addon exports it: many socket() calls in one crossing,
// each new fd observed at once (road.cc, shared with the static probe), and the parallel
// close of deferred fds.
//
// No JS value is created until every syscall is done, so nothing JS can run (a GC finalizer
// closing a FileHandle, say) between a socket() and its observations.
#include <stdint.h>

#include <cstdint>
#include <string>
#include <vector>

#include "args.h"
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
  // Raw mode (option "raw": BigUint64Array of 3 registers per case): the full 64-bit values.
  const uint64_t* raw = nullptr;
  Napi::Value rawOpt = info[3].As<Napi::Object>().Get("raw");
  if (env.IsExceptionPending()) return env.Undefined();
  if (!rawOpt.IsUndefined()) {
    if (!rawOpt.IsTypedArray() || rawOpt.As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array ||
        rawOpt.As<Napi::TypedArray>().ElementLength() != 3 * n) {
      ThrowType(env, std::string(kFn) + ": option \"raw\" of argument \"options\" must be a "
                "BigUint64Array of 3 registers per case, got " + Describe(rawOpt));
      return env.Undefined();
    }
    raw = rawOpt.As<Napi::TypedArrayOf<uint64_t>>().Data();
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
  Napi::Int32Array sigArr = Napi::Int32Array::New(env, n);
  if (env.IsExceptionPending()) return env.Undefined();
  const BatchOut o{err.Data(),      fd.Data(),     fdFlags.Data(), flFlags.Data(),
                   soDomain.Data(), soType.Data(), soProtocol.Data(), stMode.Data(),
                   stUid.Data(),    stGid.Data(),  stIno.Data(),   sigArr.Data()};
  const int32_t* d = domains.Data();
  const int32_t* t = types.Data();
  const int32_t* p = protocols.Data();

  std::string arena;
  std::vector<Captured> caps;
  RunBatch(Route::kSocket, d, t, p, n, closeNow, o, arena, caps, raw);

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
  out.Set("signal", sigArr);
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

// The deferred close of a batch's fds, from worker threads (road.cc CloseAll).
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

  CloseAll(fds.Data(), errs.Data(), n, static_cast<size_t>(threadsD));
  return errs;
}

}  // namespace sockbridge
