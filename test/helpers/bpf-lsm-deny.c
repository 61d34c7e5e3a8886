// A test's own BPF LSM policy: a BPF_PROG_TYPE_LSM program on socket_create that refuses one
// address family with one errno, for ONE process only (its tgid is compiled into the program,
// compared against bpf_get_current_pid_tgid() >> 32), so nothing else on the machine is touched.
//
//   bpf-lsm-deny BTF_ID PID FAMILY ERRNO
//
// BTF_ID is the vmlinux BTF id of bpf_lsm_socket_create. Prints "ok prog <id> link <id> via <how>"
// (or "fail <step>: <error>" and exits 1), then holds the link until its standard input closes;
// then it closes the link and the program (which detaches them) and prints "closed".
// Built by test/lsm.test.ts with the system's cc; raw bpf(2), no libbpf.
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long bpf(int cmd, union bpf_attr *attr) { return syscall(__NR_bpf, cmd, attr, sizeof(*attr)); }

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

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
  if (argc != 5) {
    fprintf(stderr, "usage: %s BTF_ID PID FAMILY ERRNO\n", argv[0]);
    return 2;
  }
  int btf_id = atoi(argv[1]), pid = atoi(argv[2]), family = atoi(argv[3]), err = atoi(argv[4]);
  struct bpf_insn prog[] = {
      INSN(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),          // r6 = ctx (u64 args)
      INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_current_pid_tgid),
      INSN(BPF_ALU64 | BPF_RSH | BPF_K, 0, 0, 0, 32),         // r0 = tgid
      INSN(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 4, pid),          // another process: allow
      INSN(BPF_LDX | BPF_MEM | BPF_DW, 1, 6, 0, 0),           // r1 = family (ctx[0])
      INSN(BPF_JMP32 | BPF_JNE | BPF_K, 1, 0, 2, family),     // another family: allow
      INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, -err),       // refuse with -err
      INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
      INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),          // allow
      INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  static char log[65536];
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_LSM;
  a.expected_attach_type = BPF_LSM_MAC;
  a.attach_btf_id = btf_id;
  a.insns = (unsigned long)prog;
  a.insn_cnt = sizeof prog / sizeof prog[0];
  a.license = (unsigned long)"GPL";  // the kernel loads LSM programs only under a GPL-compatible licence
  a.log_buf = (unsigned long)log;
  a.log_size = sizeof log;
  a.log_level = 1;
  snprintf(a.prog_name, sizeof a.prog_name, "sb_deny_af%d", family);
  int prog_fd = (int)bpf(BPF_PROG_LOAD, &a);
  if (prog_fd < 0) {
    int e = errno;
    for (char *p = log; *p; ++p) if (*p == '\n') *p = ' ';
    // What else this kernel loads, to say what is missing: the same code as an fentry program
    // on the same function (a BPF trampoline too), and a trivial kprobe program (no trampoline).
    struct bpf_insn ret0[] = {INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0), INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
    union bpf_attr t;
    memset(&t, 0, sizeof t);
    t.prog_type = BPF_PROG_TYPE_TRACING;
    t.expected_attach_type = BPF_TRACE_FENTRY;
    t.attach_btf_id = btf_id;
    t.insns = (unsigned long)ret0;
    t.insn_cnt = 2;
    t.license = (unsigned long)"GPL";
    int tfd = (int)bpf(BPF_PROG_LOAD, &t);
    int te = tfd < 0 ? errno : 0;
    if (tfd >= 0) close(tfd);
    memset(&t, 0, sizeof t);
    t.prog_type = BPF_PROG_TYPE_KPROBE;
    t.insns = (unsigned long)ret0;
    t.insn_cnt = 2;
    t.license = (unsigned long)"GPL";
    int kfd = (int)bpf(BPF_PROG_LOAD, &t);
    int ke = kfd < 0 ? errno : 0;
    if (kfd >= 0) close(kfd);
    printf("fail BPF_PROG_LOAD of BPF_PROG_TYPE_LSM (lsm/socket_create): %s (errno %d); verifier log: \"%.300s\"; "
           "on this kernel an fentry program on the same function %s (errno %d), a kprobe program %s (errno %d)\n",
           strerror(e), e, log, te ? "is refused too" : "loads", te, ke ? "is refused" : "loads", ke);
    return 1;
  }
  const char *how = "BPF_LINK_CREATE";
  memset(&a, 0, sizeof a);
  a.link_create.prog_fd = prog_fd;
  a.link_create.attach_type = BPF_LSM_MAC;
  int link_fd = (int)bpf(BPF_LINK_CREATE, &a);
  if (link_fd < 0) {
    int e1 = errno;
    how = "BPF_RAW_TRACEPOINT_OPEN";
    memset(&a, 0, sizeof a);
    a.raw_tracepoint.prog_fd = prog_fd;
    link_fd = (int)bpf(BPF_RAW_TRACEPOINT_OPEN, &a);
    if (link_fd < 0) {
      int e2 = errno;
      printf("fail attach: BPF_LINK_CREATE %s (errno %d), BPF_RAW_TRACEPOINT_OPEN %s (errno %d)\n", strerror(e1), e1, strerror(e2), e2);
      close(prog_fd);
      return 1;
    }
  }
  printf("ok prog %u link %u via %s\n", info_id(prog_fd, 0), info_id(link_fd, 1), how);
  fflush(stdout);
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {
  }
  close(link_fd);
  close(prog_fd);
  printf("closed\n");
  return 0;
}
