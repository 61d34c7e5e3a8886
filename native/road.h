// The kernel road's core, without node: socket() for a batch of cases, each new fd observed
// at once, and the parallel close of the batch's fds. Used by the addon (probe.cc) and by
// the static probe (probe/main.cc), which is built from the same sources for other ABIs and
// runs under emulators and in foreign guests. Only libc; no allocation between a socket()
// and its observations except the arena's growth.
#pragma once

#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include <string>
#include <vector>

namespace sockbridge {

// Where one successful case's strings sit in the arena.
struct Span {
  uint32_t off = 0;
  uint32_t len = 0;
};
struct Captured {
  uint32_t index;
  Span link, fdinfo, proto;
};

// Per-case outputs, parallel arrays of the batch's length.
struct BatchOut {
  int32_t* err;
  int32_t* fd;
  int32_t* fdFlags;
  int32_t* flFlags;
  int32_t* soDomain;
  int32_t* soType;
  int32_t* soProtocol;
  uint32_t* stMode;
  uint32_t* stUid;
  uint32_t* stGid;
  double* stIno;
  // Optional (issue 11): 0; SIGSYS (31) when a seccomp TRAP was caught (see g_sigsys); -1
  // when socket() returned 0 while fd 0 was open (seccomp ERRNO(0): no call ran).
  int32_t* sig = nullptr;
};

// Set by a SIGSYS handler (native/seccomp.cc, after seccompInstall) when a seccomp TRAP
// skipped the call; RunBatch clears it before each call and reads it after.
extern volatile sig_atomic_t g_sigsys;

// How the call enters the kernel. kSocketcall exists only where the ABI has socketcall(2)
// (i386): socketcall(SYS_SOCKET, {domain, type, protocol}).
enum class Route { kSocket, kSocketcall };

// Whether this build's ABI has the socketcall route.
bool HasSocketcall();

// socket(d, t, p) by the raw syscall of the route: fd, or -1 with errno exactly the kernel's.
long RawSocket(Route route, int32_t d, int32_t t, int32_t p);

// Every case: socket(), and for a new fd its observations (link, fdinfo and sockprotoname
// go into the arena, one Captured per new fd). With closeNow each fd is closed right after
// its observations; otherwise the fds stay open (the caller closes them: CloseAll).
// `raw` (3 registers per case, or null): raw mode, the full 64-bit registers passed to
// syscall(SYS_socket, ...) instead of the ints (the socket route only).
void RunBatch(Route route, const int32_t* d, const int32_t* t, const int32_t* p, size_t n,
              bool closeNow, const BatchOut& o, std::string& arena,
              std::vector<Captured>& caps, const uint64_t* raw = nullptr);

// close() every fd from `threads` threads (this one included; fewer when pthread_create
// fails); errs[i] is 0 or the errno of closing fds[i].
void CloseAll(const int32_t* fds, int32_t* errs, size_t n, size_t threads);

}  // namespace sockbridge
