// A user namespace with a gid_map of the test's choosing (several extents, in any order), in a
// network namespace of its own whose ping_group_range is the test's: what util-linux cannot make
// without /etc/subgid (its --map-groups goes through newgidmap).
//
//   userns-gidmap PING_RANGE GID_MAP -- COMMAND [ARGS...]
//
// PING_RANGE is written to /proc/sys/net/ipv4/ping_group_range after unshare(CLONE_NEWNET), once
// /proc/self/ns/net is seen to differ from the namespace it started in (so the host's is never
// written). GID_MAP uses ';' between extents ("0 1000 1;1 5 1"). The command runs as uid 0 and gid 0
// of the new user namespace (uid_map "0 0 1"), with no supplementary groups.
// Must run as root in the initial user namespace. Messages go to standard error ("fail <step>:
// <error>", exit 90). Exits with the command's status. Built by test/userns-level.test.ts with cc.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *step, int e) {
  fprintf(stderr, "fail %s: %s (errno %d)\n", step, strerror(e), e);
  return 90;
}

static int put(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = write(fd, text, strlen(text));
  int e = n < 0 ? errno : 0;
  close(fd);
  return e;
}

static ino_t netns(void) {
  struct stat st;
  return stat("/proc/self/ns/net", &st) == 0 ? st.st_ino : 0;
}

int main(int argc, char **argv) {
  if (argc < 5 || strcmp(argv[3], "--") != 0) {
    fprintf(stderr, "usage: userns-gidmap PING_RANGE GID_MAP -- COMMAND [ARGS...]\n");
    return 2;
  }
  char map[512];
  snprintf(map, sizeof map, "%s\n", argv[2]);
  for (char *c = map; *c; ++c) if (*c == ';') *c = '\n';

  ino_t before = netns();
  if (unshare(CLONE_NEWNET) != 0) return fail("unshare(CLONE_NEWNET)", errno);
  if (before == 0 || netns() == before) return fail("a network namespace of its own", EINVAL);
  int e = put("/proc/sys/net/ipv4/ping_group_range", argv[1]);
  if (e) return fail("ping_group_range", e);

  int ready[2], go[2];
  if (pipe(ready) || pipe(go)) return fail("pipe", errno);
  pid_t pid = fork();
  if (pid < 0) return fail("fork", errno);
  if (pid == 0) {
    char b;
    close(ready[0]);
    close(go[1]);
    if (unshare(CLONE_NEWUSER) != 0) _exit(fail("unshare(CLONE_NEWUSER)", errno));
    if (write(ready[1], "x", 1) != 1 || read(go[0], &b, 1) != 1) _exit(fail("sync", errno));
    if (setgroups(0, NULL) != 0) _exit(fail("setgroups", errno));
    if (setresgid(0, 0, 0) != 0) _exit(fail("setresgid", errno));
    if (setresuid(0, 0, 0) != 0) _exit(fail("setresuid", errno));
    execvp(argv[4], argv + 4);
    _exit(fail("execvp", errno));
  }
  char b, path[64];
  close(ready[1]);
  close(go[0]);
  if (read(ready[0], &b, 1) != 1) return fail("the child's user namespace", EIO);
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
  if ((e = put(path, "0 0 1\n"))) return fail("uid_map", e);
  snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
  if ((e = put(path, map))) return fail("gid_map", e);
  if (write(go[1], "x", 1) != 1) return fail("sync", errno);
  int status;
  while (waitpid(pid, &status, 0) < 0) if (errno != EINTR) return fail("waitpid", errno);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
