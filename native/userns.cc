// How deep the caller's user namespace is, measured the one way the kernel lets a process in a
// user namespace measure it: by how many more nested user namespaces it may still create.
//
// kernel/user_namespace.c create_user_ns() refuses a new user namespace when the parent's level
// is above 32 (ENOSPC; EUSERS before 4.9), and the initial namespace has level 0. From level L a
// chain of nested namespaces can therefore reach level 33 and no further: at most 33 - L of them.
// A count of 32 proves L <= 1. Fewer proves nothing by itself, because the same ENOSPC comes from
// inc_user_namespaces() when some ancestor's user.max_user_namespaces is reached.
//
// NS_GET_PARENT cannot answer this from inside: for a user namespace it is ns_get_owner(), which
// hands out the parent only when the caller's own namespace lies on the chain above that parent,
// so on the caller's own namespace it is EPERM at every depth (measured on 6.18, see
// lib/host/gather.ts usernsLevelFact).
//
// The chain is made in a forked child that exits at once: nothing outlives the call. The child
// makes only raw system calls (the parent may have other threads holding locks).
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "sockbridge.h"

namespace sockbridge {
namespace {

// What the child reports through its pipe.
struct LevelReport {
  int created;  // namespaces made, each inside the previous one
  int err;      // the errno that stopped the chain
  int stage;    // 0 unshare, 1 uid_map, 2 setgroups, 3 gid_map
};

const char* const kStages[] = {"unshare", "uid_map", "setgroups", "gid_map"};

// "0 <id> 1" without snprintf (not async-signal-safe).
size_t MapLine(char* buf, unsigned id) {
  char digits[16];
  size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + id % 10);
    id /= 10;
  } while (id != 0);
  size_t k = 0;
  buf[k++] = '0';
  buf[k++] = ' ';
  while (n > 0) buf[k++] = digits[--n];
  buf[k++] = ' ';
  buf[k++] = '1';
  return k;
}

int WriteFile(const char* path, const char* text, size_t len) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t w = write(fd, text, len);
  int e = w < 0 ? errno : (static_cast<size_t>(w) == len ? 0 : EIO);
  close(fd);
  return e;
}

[[noreturn]] void Child(int out) {
  LevelReport r{0, 0, 0};
  unsigned uid = geteuid();
  unsigned gid = getegid();
  char line[40];
  for (int i = 0; i < 64; ++i) {
    if (unshare(CLONE_NEWUSER) != 0) {
      r.err = errno;
      r.stage = 0;
      break;
    }
    ++r.created;
    // The next unshare needs the euid and egid mapped here: map this process's own ids (the
    // one mapping an unprivileged writer may make, after setgroups "deny").
    int e = WriteFile("/proc/self/uid_map", line, MapLine(line, uid));
    if (e != 0) { r.err = e; r.stage = 1; break; }
    e = WriteFile("/proc/self/setgroups", "deny", 4);
    if (e != 0 && e != ENOENT) { r.err = e; r.stage = 2; break; }
    e = WriteFile("/proc/self/gid_map", line, MapLine(line, gid));
    if (e != 0) { r.err = e; r.stage = 3; break; }
    uid = 0;
    gid = 0;
  }
  ssize_t w = write(out, &r, sizeof r);
  (void)w;
  _exit(0);
}

}  // namespace

// usernsLevelProbe(): {created, errno, stage} - how many nested user namespaces a child of the
// caller could make, and what stopped it (stage "unshare", "uid_map", "setgroups", "gid_map");
// or {errno, stage: "pipe" | "fork" | "read"} when the child could not be run or did not report.
Napi::Value UsernsLevelProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    o.Set("errno", errno);
    o.Set("stage", "pipe");
    return o;
  }
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(fds[0]);
    close(fds[1]);
    o.Set("errno", e);
    o.Set("stage", "fork");
    return o;
  }
  if (pid == 0) {
    close(fds[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    Child(fds[1]);
  }
  close(fds[1]);
  LevelReport r{};
  ssize_t got;
  do {
    got = read(fds[0], &r, sizeof r);
  } while (got < 0 && errno == EINTR);
  int readErr = got < 0 ? errno : 0;
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got != static_cast<ssize_t>(sizeof r)) {
    o.Set("errno", readErr != 0 ? readErr : EIO);
    o.Set("stage", "read");
    return o;
  }
  o.Set("created", r.created);
  o.Set("errno", r.err);
  o.Set("stage", kStages[r.stage >= 0 && r.stage < 4 ? r.stage : 0]);
  return o;
}

}  // namespace sockbridge
