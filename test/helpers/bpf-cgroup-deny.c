// A test's own real policy that refuses socket(): a BPF_PROG_TYPE_CGROUP_SOCK program on
// BPF_CGROUP_INET_SOCK_CREATE that rejects one address family (inet_create/inet6_create then fail
// with EPERM), attached to a cgroup made for this run that holds only the command it starts.
// Nothing outside that cgroup is affected; the link is closed and the cgroup removed afterwards.
//
//   bpf-cgroup-deny CGROUP2_DIR FAMILY -- COMMAND [ARGS...]
//
// Messages go to standard error: "ok prog <id> link <id> cgroup <dir>", then "closed" (or
// "fail <step>: <error>", exit 90). Exits with the command's status.
// Built by test/lsm.test.ts with the system's cc; raw bpf(2), no libbpf.
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long bpf(int cmd, union bpf_attr *attr) { return syscall(__NR_bpf, cmd, attr, sizeof(*attr)); }

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

static char cg[4096];

static int fail(const char *step, int e) {
  fprintf(stderr, "fail %s: %s (errno %d)\n", step, strerror(e), e);
  if (cg[0]) rmdir(cg);
  return 90;
}

static unsigned info_id(int fd, int is_link) {
  union bpf_attr a;
  struct bpf_prog_info pi;
  struct bpf_link_info li;
  memset(&a, 0, sizeof a);
  memset(&pi, 0, sizeof pi);
  memset(&li, 0, sizeof li);
  a.info.bpf_fd = fd;
  a.info.info_len = is_link ? sizeof li : sizeof pi;
  a.info.info = is_link ? (unsigned long)&li : (unsigned long)&pi;
  if (bpf(BPF_OBJ_GET_INFO_BY_FD, &a) != 0) return 0;
  return is_link ? li.id : pi.id;
}

int main(int argc, char **argv) {
  if (argc < 5 || strcmp(argv[3], "--") != 0) {
    fprintf(stderr, "usage: %s CGROUP2_DIR FAMILY -- COMMAND [ARGS...]\n", argv[0]);
    return 2;
  }
  int family = atoi(argv[2]);
  snprintf(cg, sizeof cg, "%s/sockbridge-test-%d", argv[1], (int)getpid());
  if (mkdir(cg, 0755) != 0) {
    int e = errno;
    cg[0] = 0;
    return fail("mkdir cgroup", e);
  }
  int cg_fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg_fd < 0) return fail("open cgroup", errno);

  struct bpf_insn prog[] = {
      INSN(BPF_LDX | BPF_MEM | BPF_W, 2, 1, offsetof(struct bpf_sock, family), 0),  // r2 = sk->family
      INSN(BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 2, family),                            // the refused family
      INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1),                               // 1: allow
      INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
      INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),                               // 0: refuse (EPERM)
      INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_CGROUP_SOCK;
  a.expected_attach_type = BPF_CGROUP_INET_SOCK_CREATE;
  a.insns = (unsigned long)prog;
  a.insn_cnt = sizeof prog / sizeof prog[0];
  a.license = (unsigned long)"GPL";
  snprintf(a.prog_name, sizeof a.prog_name, "sb_deny_af%d", family);
  int prog_fd = (int)bpf(BPF_PROG_LOAD, &a);
  if (prog_fd < 0) return fail("BPF_PROG_LOAD", errno);

  memset(&a, 0, sizeof a);
  a.link_create.prog_fd = prog_fd;
  a.link_create.target_fd = cg_fd;
  a.link_create.attach_type = BPF_CGROUP_INET_SOCK_CREATE;
  int link_fd = (int)bpf(BPF_LINK_CREATE, &a);
  if (link_fd < 0) return fail("BPF_LINK_CREATE", errno);
  fprintf(stderr, "ok prog %u link %u cgroup %s\n", info_id(prog_fd, 0), info_id(link_fd, 1), cg);

  pid_t child = fork();
  if (child < 0) return fail("fork", errno);
  if (child == 0) {
    char procs[4200];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", cg);
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) {
      fprintf(stderr, "fail join cgroup: %s\n", strerror(errno));
      _exit(91);
    }
    close(fd);
    close(link_fd);
    close(prog_fd);
    close(cg_fd);
    execvp(argv[4], argv + 4);
    fprintf(stderr, "fail exec %s: %s\n", argv[4], strerror(errno));
    _exit(92);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  close(link_fd);
  close(prog_fd);
  close(cg_fd);
  int r = rmdir(cg);
  fprintf(stderr, "closed%s\n", r == 0 ? "" : " (the cgroup could not be removed)");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
