// sock_diag lookups as plain C++ (diag.cc): the JS functions diagUnix and diagInet, and a
// sweep's batch thread (probe.cc), which looks its new sockets up before it closes them.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sockbridge {

enum class UnixDiagMode { kAuto, kDump, kExact };

// Per inode asked about (in the caller's order): found, and what unix_diag said.
struct UnixDiag {
  bool exact = false;  // answered by exact lookups (else one dump)
  std::vector<uint8_t> found;
  std::vector<int32_t> type, state, shutdown;
  std::vector<std::string> name;  // the name's bytes as they are
};

// Per inode: found, and what inet_diag said (addresses 16 bytes each, network order).
struct InetDiag {
  std::vector<uint8_t> found, src, dst;
  std::vector<int32_t> state, sport, dport, ifindex, timer, retrans;
  std::vector<double> expires, rqueue, wqueue, uid;
};

// Each opens one NETLINK_SOCK_DIAG socket, asks, and closes it. 0 or the errno (as diag.cc's
// header lists them). Inodes are 1..2^32-1.
int DiagUnixLookup(const std::vector<uint32_t>& inodes, UnixDiagMode mode, UnixDiag* out);
int DiagInetLookup(int family, int protocol, const std::vector<uint32_t>& inodes, InetDiag* out);

// The JS objects diagUnix and diagInet return: {errno} alone when err is not 0.
Napi::Value UnixDiagToJs(Napi::Env env, int err, const UnixDiag& r);
Napi::Value InetDiagToJs(Napi::Env env, int err, const InetDiag& r);

}  // namespace sockbridge
