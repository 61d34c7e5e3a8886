// What the LSMs with socket hooks hold, read without changing anything: the Landlock ABI as the
// kernel answers landlock_create_ruleset, and the BPF programs and links the kernel lists by id.
// No interpretation here: lib/host/lsm.ts decides what the answers mean.
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "args.h"
#include "sockbridge.h"

namespace sockbridge {
namespace {

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444  // the same number on every architecture's generic table
#endif
constexpr unsigned kLandlockCreateRulesetVersion = 1U << 0;
constexpr unsigned kLandlockCreateRulesetErrata = 1U << 1;

// struct landlock_ruleset_attr as of ABI 6 (handled_access_fs, handled_access_net, scoped), plus
// one more u64 to ask the kernel whether it knows a field after `scoped`.
struct RulesetAttr {
  uint64_t fs;
  uint64_t net;
  uint64_t scoped;
  uint64_t beyond;
};

// landlock_create_ruleset(attr, size, 0): the new ruleset's fd is closed at once (a ruleset
// changes nothing until landlock_restrict_self, which is never called). 0 or the errno.
int TryRuleset(const RulesetAttr& a, size_t size) {
  long fd = syscall(__NR_landlock_create_ruleset, &a, size, 0);
  if (fd < 0) return errno;
  close(static_cast<int>(fd));
  return 0;
}

// Each bit of one field the kernel accepts, asked one at a time.
double AcceptedBits(uint64_t RulesetAttr::*field, size_t size) {
  uint64_t mask = 0;
  for (int bit = 0; bit < 64; ++bit) {
    RulesetAttr a{};
    a.*field = uint64_t{1} << bit;
    if (TryRuleset(a, size) == 0) mask |= uint64_t{1} << bit;
  }
  return static_cast<double>(mask);  // the masks in use are far below 2^53
}

long Bpf(int cmd, union bpf_attr* attr) { return syscall(__NR_bpf, cmd, attr, sizeof(*attr)); }

}  // namespace

// landlockProbe(): {abi, errata, fsMask, netMask, scopedMask, beyondErrno} or {errno} when the
// version query fails (ENOSYS: no Landlock; EOPNOTSUPP: built in but not enabled at boot).
Napi::Value LandlockProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  long abi = syscall(__NR_landlock_create_ruleset, nullptr, 0, kLandlockCreateRulesetVersion);
  if (abi < 0) {
    o.Set("errno", Napi::Number::New(env, errno));
    return o;
  }
  o.Set("errno", Napi::Number::New(env, 0));
  o.Set("abi", Napi::Number::New(env, static_cast<double>(abi)));
  long errata = syscall(__NR_landlock_create_ruleset, nullptr, 0, kLandlockCreateRulesetErrata);
  o.Set("errata", Napi::Number::New(env, errata < 0 ? -errno : static_cast<double>(errata)));
  o.Set("fsMask", Napi::Number::New(env, AcceptedBits(&RulesetAttr::fs, 24)));
  o.Set("netMask", Napi::Number::New(env, AcceptedBits(&RulesetAttr::net, 24)));
  o.Set("scopedMask", Napi::Number::New(env, AcceptedBits(&RulesetAttr::scoped, 24)));
  // A 32-byte attr whose fourth u64 is set: E2BIG says the kernel's struct ends before it
  // (copy_min_struct_from_user refuses non-zero bytes it does not know).
  RulesetAttr beyond{};
  beyond.fs = 1;  // LANDLOCK_ACCESS_FS_EXECUTE, valid since ABI 1, so only the tail can be refused
  beyond.beyond = 1;
  o.Set("beyondErrno", Napi::Number::New(env, TryRuleset(beyond, sizeof beyond)));
  return o;
}

// bpfObjects(): every BPF program and link the kernel lists (BPF_PROG_GET_NEXT_ID,
// BPF_LINK_GET_NEXT_ID, then BPF_OBJ_GET_INFO_BY_FD). {errno} when listing is refused (EPERM
// without CAP_SYS_ADMIN); an object that vanishes between two calls is skipped.
// One kind of BPF object, every one the kernel lists: GET_NEXT_ID from 0, GET_FD_BY_ID, then
// OBJ_GET_INFO_BY_FD into `Info`, handed to `each`. Returns 0, or the errno that refused the
// listing; an object that vanishes between two calls is skipped.
template <typename Info, typename Each>
static int ForEachBpfObject(int next_cmd, int fd_cmd, Each each) {
  uint32_t id = 0;
  for (;;) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.start_id = id;
    if (Bpf(next_cmd, &a) != 0) return errno == ENOENT ? 0 : errno;
    id = a.next_id;
    memset(&a, 0, sizeof a);
    if (fd_cmd == BPF_LINK_GET_FD_BY_ID) a.link_id = id; else a.prog_id = id;
    long fd = Bpf(fd_cmd, &a);
    if (fd < 0) continue;
    Info in;
    memset(&in, 0, sizeof in);
    memset(&a, 0, sizeof a);
    a.info.bpf_fd = static_cast<uint32_t>(fd);
    a.info.info_len = sizeof in;
    a.info.info = reinterpret_cast<uintptr_t>(&in);
    long r = Bpf(BPF_OBJ_GET_INFO_BY_FD, &a);
    close(static_cast<int>(fd));
    if (r == 0) each(in);
  }
}

Napi::Value BpfObjects(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  Napi::Array progs = Napi::Array::New(env);
  Napi::Array links = Napi::Array::New(env);
  uint32_t np = 0;
  int err = ForEachBpfObject<struct bpf_prog_info>(BPF_PROG_GET_NEXT_ID, BPF_PROG_GET_FD_BY_ID, [&](const struct bpf_prog_info& pi) {
    Napi::Object p = Napi::Object::New(env);
    p.Set("id", Napi::Number::New(env, pi.id));
    p.Set("type", Napi::Number::New(env, pi.type));
    p.Set("name", Napi::String::New(env, std::string(pi.name, strnlen(pi.name, sizeof pi.name))));
    p.Set("attachBtfObjId", Napi::Number::New(env, pi.attach_btf_obj_id));
    p.Set("attachBtfId", Napi::Number::New(env, pi.attach_btf_id));
    progs.Set(np++, p);
  });
  uint32_t nl = 0;
  if (err == 0) err = ForEachBpfObject<struct bpf_link_info>(BPF_LINK_GET_NEXT_ID, BPF_LINK_GET_FD_BY_ID, [&](const struct bpf_link_info& li) {
    Napi::Object l = Napi::Object::New(env);
    l.Set("id", Napi::Number::New(env, li.id));
    l.Set("type", Napi::Number::New(env, li.type));
    l.Set("progId", Napi::Number::New(env, li.prog_id));
    if (li.type == BPF_LINK_TYPE_TRACING) {
      l.Set("attachType", Napi::Number::New(env, li.tracing.attach_type));
      l.Set("targetBtfId", Napi::Number::New(env, li.tracing.target_btf_id));
    } else if (li.type == BPF_LINK_TYPE_CGROUP) {
      l.Set("attachType", Napi::Number::New(env, li.cgroup.attach_type));
      l.Set("cgroupId", Napi::Number::New(env, static_cast<double>(li.cgroup.cgroup_id)));
    }
    links.Set(nl++, l);
  });
  o.Set("errno", Napi::Number::New(env, err));
  if (err != 0) return o;
  o.Set("progs", progs);
  o.Set("links", links);
  return o;
}

// bpfCgroupQuery(path, attachType): BPF_PROG_QUERY with BPF_F_QUERY_EFFECTIVE on the cgroup
// folder at path: {errno, ids} of the programs that run for a process of that cgroup.
Napi::Value BpfCgroupQuery(const Napi::CallbackInfo& info) {
  static const char kFn[] = "bpfCgroupQuery";
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    ThrowType(env, Arg(kFn, "path") + " must be a string (a cgroup v2 folder), got " + Describe(info[0]));
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (path.find('\0') != std::string::npos) {
    ThrowType(env, Arg(kFn, "path") + " must not contain a NUL character");
    return env.Undefined();
  }
  int32_t attachType;
  if (!GetInt32(env, info[1], kFn, "attachType", &attachType)) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    o.Set("errno", Napi::Number::New(env, errno));
    return o;
  }
  uint32_t ids[64];
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.query.target_fd = static_cast<uint32_t>(fd);
  a.query.attach_type = static_cast<uint32_t>(attachType);
  a.query.query_flags = BPF_F_QUERY_EFFECTIVE;
  a.query.prog_ids = reinterpret_cast<uintptr_t>(ids);
  a.query.prog_cnt = 64;
  long r = Bpf(BPF_PROG_QUERY, &a);
  int e = errno;
  close(fd);
  if (r != 0 && e != ENOSPC) {
    o.Set("errno", Napi::Number::New(env, e));
    return o;
  }
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = a.query.prog_cnt < 64 ? a.query.prog_cnt : 64;
  for (uint32_t i = 0; i < n; ++i) out.Set(i, Napi::Number::New(env, ids[i]));
  o.Set("errno", Napi::Number::New(env, 0));
  o.Set("ids", out);
  o.Set("count", Napi::Number::New(env, a.query.prog_cnt));
  return o;
}

}  // namespace sockbridge
