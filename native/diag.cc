// sock_diag (NETLINK_SOCK_DIAG): which of a batch's socket inodes the kernel lists, and with
// what state and addresses, without reading the /proc/net text tables. A /proc/net table is
// produced by a seq_file that restarts its walk at every read of ~4 KB, so with 100,000 unix
// sockets in the namespace one read of /proc/net/unix costs 90-580 ms; a netlink dump walks
// the same hash once.
//
// Each call opens one NETLINK_SOCK_DIAG socket (SOCK_CLOEXEC), asks, and closes it before
// returning: no fd is held between calls. Called while a batch's fds are open, the socket
// takes the lowest free fd for the length of the call, as the /proc reads do.
//
// Errors are data: {errno} with nothing found. The errnos a caller sees:
//   EPROTONOSUPPORT  socket(AF_NETLINK, ..., NETLINK_SOCK_DIAG) failed: no sock_diag
//   ENOENT           the kernel has no diag handler for the family/protocol (unix_diag,
//                    tcp_diag, udp_diag not built; raw_diag without CONFIG_INET_RAW_DIAG)
//   EINVAL, EMFILE, ENOBUFS, EPERM, ...  as the kernel said them
// Misuse (wrong types, inodes that are not 32-bit inode numbers) throws TypeError/RangeError.
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "diag.h"
#include "sockbridge.h"

namespace sockbridge {
namespace {

// TCP_BOUND_INACTIVE (6.6+) is a pseudo-state: asking for it makes tcp_diag also walk the
// bind hash and list sockets that are bound but neither listening nor connected. /proc/net/tcp
// never lists those, so it is left out; every real state is asked for.
constexpr uint32_t kTcpBoundInactive = 13;
constexpr uint32_t kAllStates = ~(uint32_t{1} << kTcpBoundInactive);

// unix_diag answers an exact lookup by walking the namespace's unix hash until it finds the
// inode, so k lookups cost k walks; a dump is one walk that copies every socket out. In a
// namespace of 100,000 unix sockets a lookup took 0.5-8 ms (where the socket sits in the
// hash) and a dump 25 ms: up to this many inodes the lookups are cheaper.
constexpr size_t kUnixExactMax = 4;
// Exact requests sent in one datagram: their replies must fit the socket's receive buffer.
constexpr size_t kExactChunk = 32;

constexpr size_t kRecvBuf = 64 * 1024;

// One inode of the query, and where it sits in the caller's array.
using Wanted = std::vector<std::pair<uint32_t, uint32_t>>;

// Float64Array of inode numbers (integers 1..2^32-1) -> pairs sorted by inode.
bool GetInodes(Napi::Env env, const Napi::Value& v, const char* fn, Wanted* out, size_t* n) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    return ThrowType(env, Arg(fn, "inodes") + " must be a Float64Array of socket inode numbers, got " +
                     Describe(v));
  }
  Napi::Float64Array a = v.As<Napi::Float64Array>();
  *n = a.ElementLength();
  if (*n > UINT32_MAX) return ThrowRange(env, Arg(fn, "inodes") + " is too long");
  const double* d = a.Data();
  out->reserve(*n);
  for (size_t i = 0; i < *n; ++i) {
    const double x = d[i];
    if (!(x >= 1 && x <= 4294967295.0) || std::trunc(x) != x) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", x);
      return ThrowRange(env, Arg(fn, "inodes") + "[" + std::to_string(i) +
                        "] must be a socket inode number, an integer 1..4294967295, got " + buf);
    }
    out->emplace_back(static_cast<uint32_t>(x), static_cast<uint32_t>(i));
  }
  std::sort(out->begin(), out->end());
  return true;
}

// The caller's indexes holding `ino` (an inode may be asked for more than once).
template <typename F>
void ForEachIndex(const Wanted& w, uint32_t ino, F f) {
  auto it = std::lower_bound(w.begin(), w.end(), std::make_pair(ino, uint32_t{0}));
  for (; it != w.end() && it->first == ino; ++it) f(it->second);
}

class DiagSocket {
 public:
  DiagSocket() {
    fd_ = static_cast<int>(syscall(SYS_socket, AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
                                   NETLINK_SOCK_DIAG));
    err_ = fd_ < 0 ? errno : 0;
  }
  ~DiagSocket() {
    if (fd_ >= 0) syscall(SYS_close, fd_);
  }
  int err() const { return err_; }

  int Send(const void* p, size_t len) {
    for (;;) {
      ssize_t r = send(fd_, p, len, 0);
      if (r >= 0) return 0;
      if (errno != EINTR) return errno;
    }
  }
  // Into buf (kRecvBuf bytes, 4-aligned): bytes read, or -errno.
  ssize_t Recv(char* buf) {
    for (;;) {
      ssize_t r = recv(fd_, buf, kRecvBuf, 0);
      if (r >= 0) return r;
      if (errno != EINTR) return -errno;
    }
  }

 private:
  int fd_ = -1;
  int err_ = 0;
};

// Walk a netlink attribute stream.
template <typename F>
void ForEachAttr(const void* p, size_t len, F f) {
  const char* at = static_cast<const char*>(p);
  while (len >= sizeof(struct nlattr)) {
    const struct nlattr* a = reinterpret_cast<const struct nlattr*>(at);
    if (a->nla_len < sizeof(struct nlattr) || a->nla_len > len) break;
    f(a->nla_type & NLA_TYPE_MASK, at + NLA_HDRLEN, a->nla_len - NLA_HDRLEN);
    size_t step = NLA_ALIGN(a->nla_len);
    if (step >= len) break;
    at += step;
    len -= step;
  }
}

// Read a dump to its NLMSG_DONE, calling onMsg for each SOCK_DIAG_BY_FAMILY message.
// Returns 0 or the errno (an NLMSG_ERROR reply, a failed DONE, a failed recv).
template <typename F>
int ReadDump(DiagSocket& s, uint32_t seq, F onMsg) {
  std::vector<uint64_t> store(kRecvBuf / sizeof(uint64_t));
  char* buf = reinterpret_cast<char*>(store.data());
  for (;;) {
    ssize_t r = s.Recv(buf);
    if (r < 0) return static_cast<int>(-r);
    if (r == 0) return EIO;
    size_t left = static_cast<size_t>(r);
    for (const struct nlmsghdr* h = reinterpret_cast<const struct nlmsghdr*>(buf); NLMSG_OK(h, left);
         h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) {
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
          int e = *static_cast<const int*>(NLMSG_DATA(h));
          if (e < 0) return -e;
        }
        return 0;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr* e = static_cast<const struct nlmsgerr*>(NLMSG_DATA(h));
        return e->error < 0 ? -e->error : EIO;
      }
      if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY) onMsg(h);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// unix
// ---------------------------------------------------------------------------------------------

struct UnixOut {
  uint8_t* found;
  int32_t* type;
  int32_t* state;
  int32_t* shutdown;
  std::vector<std::string>* name;
};

// Only the name (and the shutdown state, always sent): a dump of 100,000 unix sockets took
// 25 ms so; asking for the peer too took 44 ms and with the queue lengths and uid 58 ms,
// each extra attribute taking a lock or a lookup per socket.
constexpr uint32_t kUnixShow = UDIAG_SHOW_NAME;

void FillUnix(const struct nlmsghdr* h, const Wanted& w, const UnixOut& o) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg))) return;
  const struct unix_diag_msg* m = static_cast<const struct unix_diag_msg*>(NLMSG_DATA(h));
  ForEachIndex(w, m->udiag_ino, [&](uint32_t i) {
    o.found[i] = 1;
    o.type[i] = m->udiag_type;
    o.state[i] = m->udiag_state;
    ForEachAttr(reinterpret_cast<const char*>(m) + NLMSG_ALIGN(sizeof *m),
                h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof *m)),
                [&](int type, const char* p, size_t len) {
                  switch (type) {
                    case UNIX_DIAG_NAME: (*o.name)[i].assign(p, len); break;
                    case UNIX_DIAG_SHUTDOWN: if (len >= 1) o.shutdown[i] = static_cast<uint8_t>(*p); break;
                    default: break;
                  }
                });
  });
}

struct UnixReq {
  struct nlmsghdr h;
  struct unix_diag_req r;
};

UnixReq MakeUnixReq(uint32_t seq, uint32_t ino, bool dump) {
  UnixReq q;
  std::memset(&q, 0, sizeof q);
  q.h.nlmsg_len = sizeof q;
  q.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  q.h.nlmsg_flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0);
  q.h.nlmsg_seq = seq;
  q.r.sdiag_family = AF_UNIX;
  q.r.udiag_states = ~uint32_t{0};
  q.r.udiag_ino = ino;
  q.r.udiag_show = kUnixShow;
  q.r.udiag_cookie[0] = q.r.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
  return q;
}

int UnixDump(DiagSocket& s, const Wanted& w, const UnixOut& o) {
  UnixReq q = MakeUnixReq(1, 0, true);
  if (int e = s.Send(&q, sizeof q)) return e;
  return ReadDump(s, 1, [&](const struct nlmsghdr* h) { FillUnix(h, w, o); });
}

// One unix_diag_get_exact per distinct inode. A lookup that finds nothing answers ENOENT, and
// so does a kernel without unix_diag; to tell them apart every chunk starts with a lookup of
// inode 0, which unix_diag refuses with EINVAL (no socket has inode 0) before looking.
int UnixExact(DiagSocket& s, const Wanted& w, const UnixOut& o) {
  std::vector<uint32_t> inos;
  for (const auto& p : w) if (inos.empty() || inos.back() != p.first) inos.push_back(p.first);
  std::vector<uint64_t> store(kRecvBuf / sizeof(uint64_t));
  char* buf = reinterpret_cast<char*>(store.data());
  for (size_t at = 0; at < inos.size(); at += kExactChunk) {
    const size_t k = std::min(kExactChunk, inos.size() - at);
    std::vector<UnixReq> reqs;
    reqs.push_back(MakeUnixReq(1, 0, false));
    for (size_t j = 0; j < k; ++j) reqs.push_back(MakeUnixReq(static_cast<uint32_t>(2 + j), inos[at + j], false));
    if (int e = s.Send(reqs.data(), reqs.size() * sizeof(UnixReq))) return e;
    size_t answered = 0;
    while (answered < reqs.size()) {
      ssize_t r = s.Recv(buf);
      if (r < 0) return static_cast<int>(-r);
      if (r == 0) return EIO;
      size_t left = static_cast<size_t>(r);
      for (const struct nlmsghdr* h = reinterpret_cast<const struct nlmsghdr*>(buf); NLMSG_OK(h, left);
           h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_seq < 1 || h->nlmsg_seq > reqs.size()) continue;
        answered++;
        if (h->nlmsg_type == NLMSG_ERROR) {
          const int e = -static_cast<const struct nlmsgerr*>(NLMSG_DATA(h))->error;
          if (h->nlmsg_seq == 1) {
            if (e != EINVAL) return e != 0 ? e : EIO;  // ENOENT here: no unix_diag
          } else if (e != ENOENT) {
            return e;
          }
        } else if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && h->nlmsg_seq != 1) {
          FillUnix(h, w, o);
        }
      }
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// inet
// ---------------------------------------------------------------------------------------------

struct InetOut {
  uint8_t* found;
  int32_t* state;
  uint8_t* src;  // 16 bytes per inode, network order; IPv4 uses the first 4
  uint8_t* dst;
  int32_t* sport;
  int32_t* dport;
  int32_t* ifindex;
  int32_t* timer;
  int32_t* retrans;
  double* expires;
  double* rqueue;
  double* wqueue;
  double* uid;
};

void FillInet(const struct nlmsghdr* h, const Wanted& w, const InetOut& o) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg))) return;
  const struct inet_diag_msg* m = static_cast<const struct inet_diag_msg*>(NLMSG_DATA(h));
  if (m->idiag_inode == 0) return;  // TIME_WAIT and request sockets have no inode
  ForEachIndex(w, m->idiag_inode, [&](uint32_t i) {
    o.found[i] = 1;
    o.state[i] = m->idiag_state;
    std::memcpy(o.src + 16 * size_t{i}, m->id.idiag_src, 16);
    std::memcpy(o.dst + 16 * size_t{i}, m->id.idiag_dst, 16);
    o.sport[i] = ntohs(m->id.idiag_sport);
    o.dport[i] = ntohs(m->id.idiag_dport);
    o.ifindex[i] = static_cast<int32_t>(m->id.idiag_if);
    o.timer[i] = m->idiag_timer;
    o.retrans[i] = m->idiag_retrans;
    o.expires[i] = m->idiag_expires;
    o.rqueue[i] = m->idiag_rqueue;
    o.wqueue[i] = m->idiag_wqueue;
    o.uid[i] = m->idiag_uid;
  });
}

int InetDump(DiagSocket& s, int family, int protocol, const Wanted& w, const InetOut& o) {
  struct {
    struct nlmsghdr h;
    struct inet_diag_req_v2 r;
  } q;
  std::memset(&q, 0, sizeof q);
  q.h.nlmsg_len = sizeof q;
  q.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  q.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  q.h.nlmsg_seq = 1;
  q.r.sdiag_family = static_cast<uint8_t>(family);
  q.r.sdiag_protocol = static_cast<uint8_t>(protocol);
  q.r.idiag_states = kAllStates;
  if (int e = s.Send(&q, sizeof q)) return e;
  return ReadDump(s, 1, [&](const struct nlmsghdr* h) { FillInet(h, w, o); });
}

Napi::Object ErrnoOnly(Napi::Env env, int e) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("errno", Napi::Number::New(env, e));
  return out;
}

Wanted WantedOf(const std::vector<uint32_t>& inodes) {
  Wanted w;
  w.reserve(inodes.size());
  for (size_t i = 0; i < inodes.size(); ++i) w.emplace_back(inodes[i], static_cast<uint32_t>(i));
  std::sort(w.begin(), w.end());
  return w;
}

// Wanted (checked by GetInodes) -> the inodes in the caller's order.
std::vector<uint32_t> InodesOf(const Wanted& w, size_t n) {
  std::vector<uint32_t> v(n);
  for (const auto& p : w) v[p.second] = p.first;
  return v;
}

}  // namespace

int DiagUnixLookup(const std::vector<uint32_t>& inodes, UnixDiagMode mode, UnixDiag* out) {
  const size_t n = inodes.size();
  const Wanted w = WantedOf(inodes);
  out->exact = mode == UnixDiagMode::kExact || (mode == UnixDiagMode::kAuto && n <= kUnixExactMax);
  out->found.assign(n, 0);
  out->type.assign(n, -1);
  out->state.assign(n, -1);
  out->shutdown.assign(n, -1);
  out->name.assign(n, std::string());
  const UnixOut o{out->found.data(), out->type.data(), out->state.data(), out->shutdown.data(), &out->name};
  DiagSocket s;
  return s.err() != 0 ? s.err() : n == 0 ? 0 : out->exact ? UnixExact(s, w, o) : UnixDump(s, w, o);
}

int DiagInetLookup(int family, int protocol, const std::vector<uint32_t>& inodes, InetDiag* out) {
  const size_t n = inodes.size();
  const Wanted w = WantedOf(inodes);
  out->found.assign(n, 0);
  out->state.assign(n, -1);
  out->src.assign(16 * n, 0);
  out->dst.assign(16 * n, 0);
  out->sport.assign(n, -1);
  out->dport.assign(n, -1);
  out->ifindex.assign(n, 0);
  out->timer.assign(n, 0);
  out->retrans.assign(n, 0);
  out->expires.assign(n, 0);
  out->rqueue.assign(n, 0);
  out->wqueue.assign(n, 0);
  out->uid.assign(n, 0);
  const InetOut o{out->found.data(),   out->state.data(),  out->src.data(),   out->dst.data(),
                  out->sport.data(),   out->dport.data(),  out->ifindex.data(), out->timer.data(),
                  out->retrans.data(), out->expires.data(), out->rqueue.data(), out->wqueue.data(),
                  out->uid.data()};
  DiagSocket s;
  return s.err() != 0 ? s.err() : n == 0 ? 0 : InetDump(s, family, protocol, w, o);
}

Napi::Value UnixDiagToJs(Napi::Env env, int err, const UnixDiag& r) {
  if (err != 0) return ErrnoOnly(env, err);
  const size_t n = r.found.size();
  Napi::Array names = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; ++i) {
    // The name's bytes as they are (one char per byte): a path, or an abstract name that
    // starts with NUL; lib/probe.ts formats it as /proc/net/unix prints it.
    napi_value v;
    if (napi_create_string_latin1(env, r.name[i].data(), r.name[i].size(), &v) != napi_ok) return env.Undefined();
    names.Set(static_cast<uint32_t>(i), Napi::Value(env, v));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("errno", Napi::Number::New(env, 0));
  out.Set("via", Napi::String::New(env, r.exact ? "exact" : "dump"));
  out.Set("found", TypedCopy<Napi::Uint8Array>(env, r.found));
  out.Set("type", TypedCopy<Napi::Int32Array>(env, r.type));
  out.Set("state", TypedCopy<Napi::Int32Array>(env, r.state));
  out.Set("shutdown", TypedCopy<Napi::Int32Array>(env, r.shutdown));
  out.Set("name", names);
  if (env.IsExceptionPending()) return env.Undefined();
  return out;
}

Napi::Value InetDiagToJs(Napi::Env env, int err, const InetDiag& r) {
  if (err != 0) return ErrnoOnly(env, err);
  Napi::Object out = Napi::Object::New(env);
  out.Set("errno", Napi::Number::New(env, 0));
  out.Set("found", TypedCopy<Napi::Uint8Array>(env, r.found));
  out.Set("state", TypedCopy<Napi::Int32Array>(env, r.state));
  out.Set("src", TypedCopy<Napi::Uint8Array>(env, r.src));
  out.Set("dst", TypedCopy<Napi::Uint8Array>(env, r.dst));
  out.Set("sport", TypedCopy<Napi::Int32Array>(env, r.sport));
  out.Set("dport", TypedCopy<Napi::Int32Array>(env, r.dport));
  out.Set("ifindex", TypedCopy<Napi::Int32Array>(env, r.ifindex));
  out.Set("timer", TypedCopy<Napi::Int32Array>(env, r.timer));
  out.Set("retrans", TypedCopy<Napi::Int32Array>(env, r.retrans));
  out.Set("expires", TypedCopy<Napi::Float64Array>(env, r.expires));
  out.Set("rqueue", TypedCopy<Napi::Float64Array>(env, r.rqueue));
  out.Set("wqueue", TypedCopy<Napi::Float64Array>(env, r.wqueue));
  out.Set("uid", TypedCopy<Napi::Float64Array>(env, r.uid));
  if (env.IsExceptionPending()) return env.Undefined();
  return out;
}

Napi::Value DiagUnix(const Napi::CallbackInfo& info) {
  static const char kFn[] = "diagUnix";
  Napi::Env env = info.Env();
  Wanted w;
  size_t n = 0;
  if (!GetInodes(env, info[0], kFn, &w, &n)) return env.Undefined();
  UnixDiagMode mode = UnixDiagMode::kAuto;
  if (!info[1].IsUndefined()) {
    std::string m = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    if (m != "auto" && m != "dump" && m != "exact") {
      ThrowRange(env, Arg(kFn, "mode") + " must be 'auto', 'dump' or 'exact' (or left out), got " +
                 Describe(info[1]));
      return env.Undefined();
    }
    mode = m == "dump" ? UnixDiagMode::kDump : m == "exact" ? UnixDiagMode::kExact : UnixDiagMode::kAuto;
  }
  UnixDiag r;
  const int e = DiagUnixLookup(InodesOf(w, n), mode, &r);
  return UnixDiagToJs(env, e, r);
}

Napi::Value DiagInet(const Napi::CallbackInfo& info) {
  static const char kFn[] = "diagInet";
  Napi::Env env = info.Env();
  double family, protocol;
  if (!GetInteger(env, info[0], kFn, "family", 0, 255, "an address family 0..255 (AF_INET 2, AF_INET6 10)",
                  &family) ||
      !GetInteger(env, info[1], kFn, "protocol", 0, 255,
                  "an IP protocol 0..255 (IPPROTO_TCP 6, IPPROTO_UDP 17, IPPROTO_UDPLITE 136)", &protocol)) {
    return env.Undefined();
  }
  Wanted w;
  size_t n = 0;
  if (!GetInodes(env, info[2], kFn, &w, &n)) return env.Undefined();
  InetDiag r;
  const int e = DiagInetLookup(static_cast<int>(family), static_cast<int>(protocol), InodesOf(w, n), &r);
  return InetDiagToJs(env, e, r);
}

}  // namespace sockbridge
