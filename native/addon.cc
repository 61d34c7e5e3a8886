// Module init: the exported names are the methods of NativeAddon in lib/native.ts.
#include <napi.h>

#include "sockbridge.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace sockbridge;
  AddonData* data = new AddonData();
  Napi::Object arrayProto =
      env.Global().Get("Array").As<Napi::Object>().Get("prototype").As<Napi::Object>();
  data->arrayFill = Napi::Persistent(arrayProto.Get("fill").As<Napi::Function>());
  env.SetInstanceData(data);
  exports.Set("probeBatch", Napi::Function::New(env, ProbeBatch, "probeBatch"));
  exports.Set("probeBatchStart", Napi::Function::New(env, ProbeBatchStart, "probeBatchStart"));
  exports.Set("probeBatchJoin", Napi::Function::New(env, ProbeBatchJoin, "probeBatchJoin"));
  exports.Set("probeBatchDone", Napi::Function::New(env, ProbeBatchDone, "probeBatchDone"));
  exports.Set("closeFds", Napi::Function::New(env, CloseFds, "closeFds"));
  exports.Set("openFds", Napi::Function::New(env, OpenFds, "openFds"));
  exports.Set("uname", Napi::Function::New(env, Uname, "uname"));
  exports.Set("getrlimit", Napi::Function::New(env, GetRlimit, "getrlimit"));
  exports.Set("setrlimit", Napi::Function::New(env, SetRlimit, "setrlimit"));
  exports.Set("capget", Napi::Function::New(env, CapGet, "capget"));
  exports.Set("getids", Napi::Function::New(env, GetIds, "getids"));
  exports.Set("constants", Napi::Function::New(env, Constants, "constants"));
  exports.Set("strerrorname", Napi::Function::New(env, StrErrorName, "strerrorname"));
  exports.Set("nsOwnerInode", Napi::Function::New(env, NsOwnerInode, "nsOwnerInode"));
  exports.Set("diagUnix", Napi::Function::New(env, DiagUnix, "diagUnix"));
  exports.Set("diagInet", Napi::Function::New(env, DiagInet, "diagInet"));
  exports.Set("seccompLibrary", Napi::Function::New(env, SeccompLibrary, "seccompLibrary"));
  exports.Set("seccompResolve", Napi::Function::New(env, SeccompResolve, "seccompResolve"));
  exports.Set("seccompCompile", Napi::Function::New(env, SeccompCompile, "seccompCompile"));
  exports.Set("seccompInstall", Napi::Function::New(env, SeccompInstall, "seccompInstall"));
  exports.Set("seccompTrial", Napi::Function::New(env, SeccompTrial, "seccompTrial"));
  exports.Set("seccompReadFilters", Napi::Function::New(env, SeccompReadFilters, "seccompReadFilters"));
  exports.Set("landlockProbe", Napi::Function::New(env, LandlockProbe, "landlockProbe"));
  exports.Set("bpfObjects", Napi::Function::New(env, BpfObjects, "bpfObjects"));
  exports.Set("bpfCgroupQuery", Napi::Function::New(env, BpfCgroupQuery, "bpfCgroupQuery"));
  exports.Set("usernsLevelProbe", Napi::Function::New(env, UsernsLevelProbe, "usernsLevelProbe"));
  return exports;
}

}  // namespace

NODE_API_MODULE(sockbridge, Init)
