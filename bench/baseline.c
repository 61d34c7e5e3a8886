/*
 * The C baseline of `npm run bench`, and its crowding helper.
 *
 *   baseline sweep MATRIX naive
 *   baseline sweep MATRIX floor BATCH THREADS [all|family|diag [nofile=lowest]]
 *   baseline crowd UNIX_SOCKETS UDP_SOCKETS
 *
 * MATRIX is the file bench/run.ts writes from sockbridge's defaultMatrix(): a little-endian
 * int32 count n, then n (domain, type, protocol) int32 triples, in matrixCases() order, so
 * both sides sweep exactly the same cases in the same order.
 *
 * Every created fd gets the same observations as the addon's probeBatch (native/probe.cc):
 * readlink /proc/self/fd/N, the whole of /proc/self/fdinfo/N, fstat, F_GETFD, F_GETFL,
 * SO_DOMAIN, SO_TYPE, SO_PROTOCOL and the system.sockprotoname xattr, kept in memory.
 *
 *  naive: socket, observe, close, one case after another. Each AF_PACKET close waits for
 *         its own RCU grace period. (It does not look sockets up in /proc/net: with the fd
 *         closed at once there is nothing to find, and a table read per case would only make
 *         the naive figure slower - leaving it out makes the "15x faster" target harder.)
 *  floor: BATCH cases with every fd left open; then each /proc/net socket table read once
 *         and joined by inode against the batch's inodes (a hash set); then the fds closed
 *         from THREADS threads of a pool that lives for the whole sweep (closes waiting at
 *         the same time share RCU grace periods). With "family", a table is read only when
 *         the batch made a socket of the one family it lists (/proc/net/unix only AF_UNIX,
 *         and so on): what it would cost sockbridge to do the same in a crowded netns. With
 *         "diag", by family too, and the unix, tcp, udp and udplite tables asked of sock_diag
 *         (one binary dump each, joined by inode) instead of read as text; raw, icmp, packet
 *         and netlink stay text (this kernel has no raw diag). With "nofile=lowest", RLIMIT_NOFILE's
 *         soft limit is first set to the lowest free fd: the condition of sockbridge's rlimit
 *         variant, where every socket() that would make a socket fails with EMFILE.
 *
 * It prints one JSON line: the case count, how many sockets were made, an FNV-1a hash of
 * (errno, fd) per case so run.ts can check both sides saw the same kernel results, how many
 * sockets were found in /proc/net, and the time of each phase in ns (the matrix file read is
 * not timed).
 *
 *  crowd: make UNIX_SOCKETS AF_UNIX sockets (socketpairs) and UDP_SOCKETS UDP sockets bound
 *         to 127.0.0.1 port 0 (never sends, never listens), raising RLIMIT_NOFILE's soft limit
 *         to the hard one; print "ready U D" and hold them until stdin reaches EOF or the
 *         parent dies (PR_SET_PDEATHSIG), then exit. run.ts spreads the crowd over several of
 *         these, as the hard limit (20000 on CI) cannot be raised without CAP_SYS_RESOURCE.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "baseline: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void usage(void) {
  fprintf(stderr,
          "usage: baseline sweep MATRIX naive\n"
          "       baseline sweep MATRIX floor BATCH THREADS [all|family|diag [nofile=lowest]]   (BATCH >= 1, THREADS 1..256)\n"
          "       baseline crowd UNIX_SOCKETS UDP_SOCKETS\n");
  exit(2);
}

static long parse_long(const char *s, const char *name, long lo, long hi) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || *s == '\0' || *end != '\0' || v < lo || v > hi) {
    fprintf(stderr, "baseline: %s must be an integer from %ld to %ld (got \"%s\")\n", name, lo, hi, s);
    exit(2);
  }
  return v;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------------------------------ */
/* observations                                                                                 */

/* Strings of the observations go to a growing arena, as in the addon. */
struct arena {
  char *p;
  size_t len, cap;
};

static void arena_reserve(struct arena *a, size_t more) {
  if (a->len + more <= a->cap) return;
  size_t cap = a->cap ? a->cap : 1 << 16;
  while (cap < a->len + more) cap *= 2;
  a->p = realloc(a->p, cap);
  if (!a->p) die("realloc");
  a->cap = cap;
}

static void arena_append(struct arena *a, const char *p, size_t n) {
  arena_reserve(a, n);
  memcpy(a->p + a->len, p, n);
  a->len += n;
}

struct obs {
  int32_t err, fd, fdflags, flflags, so_domain, so_type, so_protocol;
  uint32_t mode, uid, gid;
  uint64_t ino;
  uint32_t link_off, link_len, info_off, info_len, proto_off, proto_len;
  int32_t table; /* the /proc/net table it was found in, or -1 */
};

static int sockopt(int fd, int opt) {
  int v = -1;
  socklen_t len = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) != 0) return -1;
  return v;
}

static void observe(int fd, struct obs *o, struct arena *a) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, buf, sizeof buf);
  o->link_off = (uint32_t)a->len;
  o->link_len = n > 0 ? (uint32_t)n : 0;
  arena_append(a, buf, o->link_len);

  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  o->info_off = (uint32_t)a->len;
  o->info_len = 0;
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f >= 0) {
    for (;;) {
      arena_reserve(a, 4096);
      ssize_t r = read(f, a->p + a->len, 4096);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      a->len += (size_t)r;
      o->info_len += (uint32_t)r;
    }
    close(f);
  }

  struct stat st;
  if (fstat(fd, &st) == 0) {
    o->mode = st.st_mode;
    o->uid = st.st_uid;
    o->gid = st.st_gid;
    o->ino = st.st_ino;
  }
  o->fdflags = fcntl(fd, F_GETFD);
  o->flflags = fcntl(fd, F_GETFL);
  o->so_domain = sockopt(fd, SO_DOMAIN);
  o->so_type = sockopt(fd, SO_TYPE);
  o->so_protocol = sockopt(fd, SO_PROTOCOL);

  n = fgetxattr(fd, "system.sockprotoname", buf, sizeof buf);
  size_t plen = n > 0 ? (size_t)n : 0;
  while (plen > 0 && buf[plen - 1] == '\0') --plen;
  o->proto_off = (uint32_t)a->len;
  o->proto_len = (uint32_t)plen;
  arena_append(a, buf, plen);
}

/* One case: the raw syscall, so the errno is exactly the kernel's. */
static int make(const int32_t *c, struct obs *o, struct arena *a) {
  memset(o, 0, sizeof *o);
  o->table = -1;
  long r = syscall(SYS_socket, c[0], c[1], c[2]);
  if (r < 0) {
    o->err = errno;
    o->fd = o->fdflags = o->flflags = o->so_domain = o->so_type = o->so_protocol = -1;
    return -1;
  }
  o->fd = (int32_t)r;
  observe((int)r, o, a);
  return (int)r;
}

/* ------------------------------------------------------------------------------------------ */
/* /proc/net: each table read once per batch, rows joined by inode                              */

/* The tables lib/observe reads (NET_TABLES), in its order; with the 0-based field that holds
 * the inode (unix: the 7th field, after which an optional path follows). */
static const struct {
  const char *path;
  int inode_field;
  int family; /* the only family whose sockets the table lists */
} kTables[] = {
    {"/proc/net/unix", 6, AF_UNIX},       {"/proc/net/tcp", 9, AF_INET},
    {"/proc/net/tcp6", 9, AF_INET6},      {"/proc/net/udp", 9, AF_INET},
    {"/proc/net/udp6", 9, AF_INET6},      {"/proc/net/udplite", 9, AF_INET},
    {"/proc/net/udplite6", 9, AF_INET6},  {"/proc/net/raw", 9, AF_INET},
    {"/proc/net/raw6", 9, AF_INET6},      {"/proc/net/icmp", 9, AF_INET},
    {"/proc/net/icmp6", 9, AF_INET6},     {"/proc/net/packet", 8, AF_PACKET},
    {"/proc/net/netlink", 9, AF_NETLINK},
};
enum { kNumTables = sizeof kTables / sizeof kTables[0] };

/* Open-addressing set of the batch's inodes -> index of the case. */
struct inoset {
  uint64_t *keys; /* 0 = empty */
  int32_t *vals;
  size_t mask;
};

static void inoset_init(struct inoset *s, size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap *= 2;
  s->keys = calloc(cap, sizeof *s->keys);
  s->vals = calloc(cap, sizeof *s->vals);
  if (!s->keys || !s->vals) die("calloc");
  s->mask = cap - 1;
}

static void inoset_put(struct inoset *s, uint64_t k, int32_t v) {
  size_t i = (size_t)(k * 0x9E3779B97F4A7C15ull) & s->mask;
  while (s->keys[i] != 0 && s->keys[i] != k) i = (i + 1) & s->mask;
  s->keys[i] = k;
  s->vals[i] = v;
}

static int32_t inoset_get(const struct inoset *s, uint64_t k) {
  size_t i = (size_t)(k * 0x9E3779B97F4A7C15ull) & s->mask;
  while (s->keys[i] != 0) {
    if (s->keys[i] == k) return s->vals[i];
    i = (i + 1) & s->mask;
  }
  return -1;
}

static char *g_text;
static size_t g_text_cap;
static uint64_t g_table_bytes;

/* Read the whole file into g_text; returns its length, or -1 when it does not exist. */
static ssize_t slurp(const char *path) {
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0) return -1;
  size_t len = 0;
  for (;;) {
    if (g_text_cap - len < 65536) {
      g_text_cap = g_text_cap ? g_text_cap * 2 : 1 << 20;
      g_text = realloc(g_text, g_text_cap);
      if (!g_text) die("realloc");
    }
    ssize_t r = read(f, g_text + len, g_text_cap - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    len += (size_t)r;
  }
  close(f);
  g_table_bytes += len;
  return (ssize_t)len;
}

/* sock_diag instead of the text of table t (unix, tcp*, udp*, udplite*): one dump of the
 * family/protocol, joined by inode. Returns the sockets found, or -1 when sock_diag cannot
 * answer for that table (then the text is read). */
static ssize_t diag_table(int t, struct obs *obs, const struct inoset *set) {
  int family = kTables[t].family, protocol;
  const char *name = kTables[t].path + strlen("/proc/net/");
  if (strncmp(name, "unix", 4) == 0) protocol = 0;
  else if (strncmp(name, "tcp", 3) == 0) protocol = IPPROTO_TCP;
  else if (strncmp(name, "udplite", 7) == 0) protocol = IPPROTO_UDPLITE;
  else if (strncmp(name, "udp", 3) == 0) protocol = IPPROTO_UDP;
  else return -1;
  int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (nl < 0) return -1;
  struct {
    struct nlmsghdr h;
    union {
      struct unix_diag_req u;
      struct inet_diag_req_v2 i;
    } r;
  } req;
  memset(&req, 0, sizeof req);
  req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = 1;
  if (family == AF_UNIX) {
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof req.r.u);
    req.r.u.sdiag_family = AF_UNIX;
    req.r.u.udiag_states = ~0u;
  } else {
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof req.r.i);
    req.r.i.sdiag_family = (uint8_t)family;
    req.r.i.sdiag_protocol = (uint8_t)protocol;
    req.r.i.idiag_states = ~0u;
  }
  if (send(nl, &req, req.h.nlmsg_len, 0) < 0) {
    close(nl);
    return -1;
  }
  static char buf[1 << 16] __attribute__((aligned(8)));
  ssize_t found = 0;
  for (;;) {
    ssize_t r = recv(nl, buf, sizeof buf, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      found = -1;
      break;
    }
    g_table_bytes += (uint64_t)r;
    int done = 0;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)r); h = NLMSG_NEXT(h, r)) {
      if (h->nlmsg_type == NLMSG_DONE) { done = 1; break; }
      if (h->nlmsg_type == NLMSG_ERROR) { done = 1; found = -1; break; }
      uint64_t ino = family == AF_UNIX ? ((struct unix_diag_msg *)NLMSG_DATA(h))->udiag_ino
                                       : ((struct inet_diag_msg *)NLMSG_DATA(h))->idiag_inode;
      int32_t i = ino ? inoset_get(set, ino) : -1;
      if (i >= 0 && obs[i].table < 0) {
        obs[i].table = t;
        found++;
      }
    }
    if (done) break;
  }
  close(nl);
  return found;
}

/* Every table once (or, with by_family, only the tables of the families the batch's sockets
 * have, by SO_DOMAIN); returns how many of the batch's sockets were found. */
static size_t join_tables(struct obs *obs, size_t b, size_t e, const struct inoset *set, int by_family,
                          int use_diag) {
  size_t found = 0;
  int present[64] = {0};
  for (size_t i = b; i < e; i++) {
    if (obs[i].err == 0 && obs[i].so_domain >= 0 && obs[i].so_domain < 64) present[obs[i].so_domain] = 1;
  }
  for (int t = 0; t < kNumTables; t++) {
    if (by_family && !present[kTables[t].family]) continue;
    if (use_diag) {
      ssize_t f = diag_table(t, obs, set);
      if (f >= 0) {
        found += (size_t)f;
        continue;
      }
    }
    ssize_t len = slurp(kTables[t].path);
    if (len < 0) continue;
    const char *p = g_text, *end = g_text + len;
    const char *nl = memchr(p, '\n', (size_t)(end - p)); /* skip the header */
    p = nl ? nl + 1 : end;
    while (p < end) {
      const char *eol = memchr(p, '\n', (size_t)(end - p));
      if (!eol) eol = end;
      /* to the inode field: skip leading blanks, then fields */
      const char *q = p;
      int field = 0;
      while (q < eol && *q == ' ') q++;
      while (q < eol && field < kTables[t].inode_field) {
        while (q < eol && *q != ' ') q++;
        while (q < eol && *q == ' ') q++;
        field++;
      }
      uint64_t ino = 0;
      while (q < eol && *q >= '0' && *q <= '9') ino = ino * 10 + (uint64_t)(*q++ - '0');
      if (ino != 0) {
        int32_t i = inoset_get(set, ino);
        if (i >= 0 && obs[i].table < 0) {
          obs[i].table = t;
          found++;
        }
      }
      p = eol + 1;
    }
  }
  return found;
}

/* ------------------------------------------------------------------------------------------ */
/* the close pool: lives for the whole sweep, woken once per batch                             */

struct pool {
  pthread_mutex_t mu;
  pthread_cond_t work, done;
  const int *fds;
  size_t n, next, finished;
  unsigned gen;
  int threads, stop;
  pthread_t *tids;
};

static void *pool_worker(void *arg) {
  struct pool *p = arg;
  unsigned seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->stop && p->gen == seen) pthread_cond_wait(&p->work, &p->mu);
    if (p->stop) break;
    seen = p->gen;
    while (p->next < p->n) {
      size_t i = p->next++;
      pthread_mutex_unlock(&p->mu);
      syscall(SYS_close, p->fds[i]);
      pthread_mutex_lock(&p->mu);
      if (++p->finished == p->n) pthread_cond_signal(&p->done);
    }
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static void pool_start(struct pool *p, int threads) {
  memset(p, 0, sizeof *p);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->done, NULL);
  p->threads = threads;
  p->tids = calloc((size_t)threads, sizeof *p->tids);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  for (int k = 0; k < threads; k++) {
    if (pthread_create(&p->tids[k], &attr, pool_worker, p) != 0) die("pthread_create");
  }
  pthread_attr_destroy(&attr);
}

static void pool_close(struct pool *p, const int *fds, size_t n) {
  if (n == 0) return;
  pthread_mutex_lock(&p->mu);
  p->fds = fds;
  p->n = n;
  p->next = p->finished = 0;
  p->gen++;
  pthread_cond_broadcast(&p->work);
  while (p->finished < p->n) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

static void pool_stop(struct pool *p) {
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mu);
  for (int k = 0; k < p->threads; k++) pthread_join(p->tids[k], NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* sweep                                                                                        */

static int32_t *read_matrix(const char *path, size_t *n_out) {
  FILE *f = fopen(path, "rb");
  if (!f) die(path);
  int32_t n;
  if (fread(&n, sizeof n, 1, f) != 1 || n < 0) {
    fprintf(stderr, "baseline: %s: no case count at the start\n", path);
    exit(2);
  }
  int32_t *c = malloc((size_t)n * 3 * sizeof *c + 1);
  if (!c) die("malloc");
  if (fread(c, sizeof *c, (size_t)n * 3, f) != (size_t)n * 3) {
    fprintf(stderr, "baseline: %s: fewer than the %d cases its header announces\n", path, n);
    exit(2);
  }
  fclose(f);
  *n_out = (size_t)n;
  return c;
}

static uint64_t fnv(uint64_t h, uint32_t v) {
  for (int k = 0; k < 4; k++) {
    h ^= (v >> (8 * k)) & 0xff;
    h *= 0x100000001b3ull;
  }
  return h;
}

static int sweep(int argc, char **argv) {
  if (argc < 4) usage();
  const char *mode = argv[3];
  int floor_mode, by_family = 0, use_diag = 0, nofile_lowest = 0;
  long batch = 1, threads = 1;
  if (strcmp(mode, "naive") == 0 && argc == 4) {
    floor_mode = 0;
  } else if (strcmp(mode, "floor") == 0 && argc >= 6 && argc <= 8) {
    floor_mode = 1;
    batch = parse_long(argv[4], "BATCH", 1, 1 << 20);
    threads = parse_long(argv[5], "THREADS", 1, 256);
    if (argc >= 7) {
      if (strcmp(argv[6], "family") == 0) by_family = 1;
      else if (strcmp(argv[6], "diag") == 0) by_family = use_diag = 1;
      else if (strcmp(argv[6], "all") != 0) usage();
    }
    if (argc == 8) {
      if (strcmp(argv[7], "nofile=lowest") != 0) usage();
      nofile_lowest = 1;
    }
  } else {
    usage();
  }
  size_t n;
  int32_t *cases = read_matrix(argv[2], &n);
  struct obs *obs = calloc(n ? n : 1, sizeof *obs);
  int *fds = malloc((size_t)batch * sizeof *fds);
  if (!obs || !fds) die("malloc");
  struct arena a = {0};
  arena_reserve(&a, 1 << 20);

  if (nofile_lowest) {
    /* The rlimit variant's condition: RLIMIT_NOFILE's soft limit at the lowest free fd, so every
     * socket() that would succeed fails with EMFILE in sock_map_fd (after the socket was made). */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die("getrlimit");
    int lowest = 0;
    while (fcntl(lowest, F_GETFD) != -1) lowest++;
    rl.rlim_cur = (rlim_t)lowest;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) die("setrlimit");
  }

  struct pool pool;
  uint64_t t_make = 0, t_tables = 0, t_close = 0, created = 0, found = 0;
  uint64_t t0 = now_ns();
  if (floor_mode) pool_start(&pool, (int)threads);
  for (size_t b = 0; b < n; b += (size_t)batch) {
    size_t e = b + (size_t)batch < n ? b + (size_t)batch : n;
    size_t open = 0;
    uint64_t t1 = now_ns();
    for (size_t i = b; i < e; i++) {
      int fd = make(&cases[3 * i], &obs[i], &a);
      if (fd < 0) continue;
      created++;
      if (floor_mode) {
        fds[open++] = fd;
      } else {
        uint64_t tc = now_ns();
        syscall(SYS_close, fd);
        t_close += now_ns() - tc;
      }
    }
    uint64_t t2 = now_ns();
    t_make += t2 - t1;
    if (!floor_mode || open == 0) continue;
    struct inoset set;
    inoset_init(&set, open);
    for (size_t i = b; i < e; i++) {
      if (obs[i].err == 0) inoset_put(&set, obs[i].ino, (int32_t)i);
    }
    found += join_tables(obs, b, e, &set, by_family, use_diag);
    free(set.keys);
    free(set.vals);
    uint64_t t3 = now_ns();
    pool_close(&pool, fds, open);
    uint64_t t4 = now_ns();
    t_tables += t3 - t2;
    t_close += t4 - t3;
  }
  if (floor_mode) pool_stop(&pool);
  uint64_t total = now_ns() - t0;
  if (!floor_mode) t_make -= t_close; /* the naive loop timed its closes inside */

  /* errnoHash: the errno of every case (what any sweep of the matrix must agree on);
   * fdHash adds the fd numbers, which depend on what else the process has open. */
  uint64_t he = 0xcbf29ce484222325ull, hf = he;
  for (size_t i = 0; i < n; i++) {
    he = fnv(he, (uint32_t)obs[i].err);
    hf = fnv(fnv(hf, (uint32_t)obs[i].err), (uint32_t)obs[i].fd);
  }
  printf("{\"mode\":\"%s\",\"cases\":%zu,\"created\":%llu,\"foundInProcNet\":%llu,"
         "\"errnoHash\":\"%016llx\",\"fdHash\":\"%016llx\","
         "\"tables\":\"%s\",\"batch\":%ld,\"threads\":%ld,\"ns\":%llu,\"makeNs\":%llu,\"tablesNs\":%llu,\"closeNs\":%llu,"
         "\"tableBytes\":%llu,\"arenaBytes\":%zu}\n",
         mode, n, (unsigned long long)created, (unsigned long long)found, (unsigned long long)he,
         (unsigned long long)hf, use_diag ? "diag" : by_family ? "family" : "all", batch,
         threads, (unsigned long long)total, (unsigned long long)t_make, (unsigned long long)t_tables,
         (unsigned long long)t_close, (unsigned long long)g_table_bytes, a.len);
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* crowd                                                                                        */

static int crowd(int argc, char **argv) {
  if (argc != 4) usage();
  long nunix = parse_long(argv[2], "UNIX_SOCKETS", 0, 1 << 24);
  long nudp = parse_long(argv[3], "UDP_SOCKETS", 0, 1 << 24);
  /* Die with the parent, however it ends. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) die("prctl(PR_SET_PDEATHSIG)");
  if (getppid() == 1) return 1;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die("getrlimit");
  rlim_t need = (rlim_t)(nunix + nudp + 16);
  if (rl.rlim_cur < need) {
    if (rl.rlim_max < need) {
      fprintf(stderr, "baseline crowd: %ld sockets need RLIMIT_NOFILE >= %llu, hard limit is %llu; "
              "spread them over more helpers\n", nunix + nudp, (unsigned long long)need,
              (unsigned long long)rl.rlim_max);
      return 2;
    }
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) die("setrlimit");
  }
  long made_unix = 0, made_udp = 0;
  while (made_unix < nunix) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) die("socketpair");
    made_unix += 2;
  }
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = 0;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (; made_udp < nudp; made_udp++) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) die("socket(AF_INET, SOCK_DGRAM)");
    if (bind(s, (struct sockaddr *)&sin, sizeof sin) != 0) die("bind(127.0.0.1:0)");
  }
  printf("ready %ld %ld\n", made_unix, made_udp);
  fflush(stdout);
  char buf[256];
  for (;;) {
    ssize_t r = read(0, buf, sizeof buf);
    if (r == 0 || (r < 0 && errno != EINTR)) break;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  if (strcmp(argv[1], "sweep") == 0) return sweep(argc, argv);
  if (strcmp(argv[1], "crowd") == 0) return crowd(argc, argv);
  usage();
  return 2;
}
