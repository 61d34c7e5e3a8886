// Module init: the exported names are the methods of NativeAddon in lib/native.ts.
#include <napi.h>
#include <pthread.h>

#include <cstdlib>

#include "sockbridge.h"

namespace {

// glibc's malloc reads /proc/sys/vm/overcommit_memory once per process, the first time any
// thread's own (non-main) heap shrinks (check_may_shrink_heap): an fd opened and closed, at a
// moment no one chooses, by whichever thread frees memory first - a V8 worker collecting
// garbage, say, while a sweep's batch makes its calls, which then get fd numbers one above the
// model's. This thread makes that first shrink happen here, at load: it takes 8 MB in 64 KB
// blocks from its own arena (below the mmap threshold) and frees them, so the top of its heap
// is above the trim threshold and glibc shrinks it, reading the file now.
void* ShrinkOnce(void*) {
  constexpr size_t kBlocks = 128, kSize = 64 * 1024;
  void* blocks[kBlocks];
  for (size_t i = 0; i < kBlocks; ++i) {
    blocks[i] = malloc(kSize);
    // Touched through a volatile pointer, so the compiler cannot drop the pair.
    if (blocks[i] != nullptr) static_cast<volatile char*>(blocks[i])[0] = 1;
  }
  for (size_t i = kBlocks; i-- > 0;) free(blocks[i]);
  return nullptr;
}

void ShrinkHeapOnceNow() {
  pthread_t t;
  if (pthread_create(&t, nullptr, ShrinkOnce, nullptr) == 0) pthread_join(t, nullptr);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace sockbridge;
  ShrinkHeapOnceNow();
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
