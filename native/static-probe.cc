// sockbridge-probe: the kernel road as a standalone, statically linked program, built from
// the addon's own core (road.cc) for another ABI (x86_64, i386, aarch64, mips64el n64), to
// run where node cannot: under a syscall emulator (qemu-user), in a foreign-architecture
// guest, as a 32-bit process on a 64-bit kernel. Built by lib/static-probe/build.ts
// (`node dist/scripts/probe/build.js`); its output is read by lib/static-probe/run.ts.
//
// USAGE
//   sockbridge-probe [--batch N] [--route socket|socketcall] [--close-threads N]
//                    [--no-procnet] [DOMAIN TYPE PROTOCOL ...]
//
// INPUT: the cases, as triples of C ints (decimal, 0x hex, or 0-prefixed octal, optionally
// negative, each within int32), passed to socket() exactly as given, with this ABI's
// numbering (a mips SOCK_STREAM is 2). Either on the command line (a multiple of three
// numbers), or, when there are none, on stdin: one case per line, "DOMAIN TYPE PROTOCOL"
// separated by blanks; empty lines and lines starting with '#' are skipped.
//   --batch N           cases per batch, 1..65536 (default 2048). A batch's fds stay open
//                       until the batch's last case is observed and its /proc/net rows read;
//                       then all are closed (--close-threads, default 128, 1..256, threads).
//   --route R           socket (default): the ABI's socket(2) syscall. socketcall: i386 only,
//                       socketcall(SYS_SOCKET=1, {domain, type, protocol}).
//   --no-procnet        do not read /proc/net.
//
// OUTPUT (stdout): JSON lines, schema "sockbridge.probe/1". Every number is as this ABI's
// kernel (or emulator) reported it: errno, SO_TYPE, F_GETFL, fdinfo flags are NOT translated.
// Strings are JSON with bytes >= 0x80 written as \u0080..\u00ff (latin1: decode the string's
// char codes as bytes to get the kernel's bytes back). In order:
//   {"kind":"probe","schema":"sockbridge.probe/1","abi":"aarch64","route":"socket",
//    "machine":"<uname -m>","release":"<uname -r>","pid":N,"ids":{"uid","euid","gid","egid"},
//    "consts":{"SOL_SOCKET","SO_TYPE","SO_PROTOCOL","SO_DOMAIN","SOCK_STREAM","SOCK_DGRAM",
//              "SOCK_NONBLOCK","SOCK_CLOEXEC","O_NONBLOCK","O_CLOEXEC","O_RDWR","EINVAL",
//              "EAFNOSUPPORT","EPROTONOSUPPORT","ESOCKTNOSUPPORT","EPROTOTYPE","EPERM",
//              "EACCES"}, "batch":N}        (the consts are this build's headers')
//   per batch:
//   {"kind":"batch","batch":k,"first":i,"count":n,"openFds":[...]}
//       the fds open before the batch's first socket() (/proc/self/fd; the listing's own
//       directory fd left out)
//   {"kind":"case","i":i,"case":{"domain":D,"type":T,"protocol":P},"errno":E,"fd":F}
//       one per case, in input order; i counts from 0 over the whole run. errno 0 means a new
//       fd; then also "link" (readlink /proc/self/fd/F), "fdinfo" (the raw text of
//       /proc/self/fdinfo/F), "stat":{"mode","uid","gid","ino"} (fstat), "fdFlags" and
//       "flFlags" (fcntl F_GETFD / F_GETFL), "soDomain","soType","soProtocol" (getsockopt at
//       SOL_SOCKET; -1 when getsockopt failed), "protoName" (system.sockprotoname xattr).
//   {"kind":"procnet","batch":k,"table":"tcp","header":"<first line>","lines":[...]}
//       while the batch's fds are still open, for each /proc/net table the new sockets'
//       SO_DOMAIN can be listed in (sockbridge's NET_TABLES order): the header and every row
//       that has a field equal to one of the batch's socket inodes (the reader checks the
//       inode column). A table that cannot be read: {"kind":"procnet",...,"errno":E}.
//   {"kind":"closed","batch":k,"fds":n,"errors":[[fd,errno],...]}
//   at the end: {"kind":"end","cases":N,"batches":B}
// Exit status: 0 done; 2 bad arguments or input (a message on stderr naming the value);
// 1 output could not be written.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "road.h"

#if defined(__x86_64__)
#define SB_ABI "x86_64"
#elif defined(__i386__)
#define SB_ABI "i386"
#elif defined(__aarch64__)
#define SB_ABI "aarch64"
#elif defined(__mips64) && defined(__MIPSEL__) && _MIPS_SIM == _ABI64
#define SB_ABI "mips64el"
#else
#error "sockbridge-probe: an ABI sockbridge does not model (x86_64, i386, aarch64, mips64el n64)"
#endif

namespace {

using sockbridge::BatchOut;
using sockbridge::Captured;
using sockbridge::Route;
using sockbridge::Span;

[[noreturn]] void Usage(const std::string& msg) {
  fprintf(stderr, "sockbridge-probe: %s\n", msg.c_str());
  fprintf(stderr,
          "usage: sockbridge-probe [--batch N] [--route socket|socketcall] [--close-threads N] "
          "[--no-procnet] [DOMAIN TYPE PROTOCOL ...]  (no cases given: read them from stdin, "
          "one \"DOMAIN TYPE PROTOCOL\" per line)\n");
  exit(2);
}

// A C int as written (decimal, 0x hex, 0 octal, optional sign); false if not one or outside int32.
bool ParseInt32(const char* s, int32_t* out) {
  if (*s == '\0') return false;
  errno = 0;
  char* end = nullptr;
  long long v = strtoll(s, &end, 0);
  if (errno != 0 || *end != '\0' || end == s) return false;
  if (v < INT32_MIN || v > INT32_MAX) return false;
  *out = static_cast<int32_t>(v);
  return true;
}

long ParseRange(const char* opt, const char* s, long lo, long hi) {
  int32_t v;
  if (s == nullptr || !ParseInt32(s, &v) || v < lo || v > hi) {
    Usage(std::string(opt) + ": \"" + (s ? s : "") + "\" is not a whole number from " +
          std::to_string(lo) + " to " + std::to_string(hi));
  }
  return v;
}

// JSON string of bytes; bytes >= 0x80 as \u00XX (latin1), so any bytes make valid JSON.
void JStr(std::string& o, const char* p, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  o.push_back('"');
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          o += "\\u00";
          o.push_back(kHex[c >> 4]);
          o.push_back(kHex[c & 15]);
        } else {
          o.push_back(static_cast<char>(c));
        }
    }
  }
  o.push_back('"');
}
void JStr(std::string& o, const std::string& s) { JStr(o, s.data(), s.size()); }

void Num(std::string& o, long long v) { o += std::to_string(v); }

void Flush(std::string& o) {
  size_t off = 0;
  while (off < o.size()) {
    ssize_t w = write(1, o.data() + off, o.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      fprintf(stderr, "sockbridge-probe: cannot write the output: %s\n", strerror(errno));
      exit(1);
    }
    off += static_cast<size_t>(w);
  }
  o.clear();
}

// The fds open now, without the listing's own directory fd.
std::vector<int> OpenFds() {
  std::vector<int> fds;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return fds;
  int own = dirfd(d);
  while (struct dirent* e = readdir(d)) {
    int32_t fd;
    if (e->d_name[0] == '.' || !ParseInt32(e->d_name, &fd) || fd == own) continue;
    fds.push_back(fd);
  }
  closedir(d);
  std::sort(fds.begin(), fds.end());
  return fds;
}

// The /proc/net tables a socket of this family can be listed in (lib/probe.ts TABLES_OF_FAMILY),
// in lib/observe NET_TABLES order.
const char* const kTableOrder[] = {"unix",    "tcp",  "tcp6", "udp",   "udp6",   "udplite",
                                   "udplite6", "raw", "raw6", "icmp",  "icmp6",  "packet",
                                   "netlink", "l2cap", "hci", "sco",   "rfcomm", "bnep",
                                   "cmtp",    "hidp", "iso",  "pfkey"};
bool TableOfFamily(int family, const std::string& t) {
  switch (family) {
    case 1: return t == "unix";
    case 2: return t == "tcp" || t == "udp" || t == "udplite" || t == "raw" || t == "icmp";
    case 10: return t == "tcp6" || t == "udp6" || t == "udplite6" || t == "raw6" || t == "icmp6";
    case 15: return t == "pfkey";
    case 16: return t == "netlink";
    case 17: return t == "packet";
    case 31:
      return t == "l2cap" || t == "hci" || t == "sco" || t == "rfcomm" || t == "bnep" ||
             t == "cmtp" || t == "hidp" || t == "iso";
    default: return false;
  }
}

bool ReadWhole(const char* path, std::string* text, int* err) {
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0) {
    *err = errno;
    return false;
  }
  char buf[65536];
  for (;;) {
    ssize_t r = read(f, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      *err = errno;
      close(f);
      return false;
    }
    if (r == 0) break;
    text->append(buf, static_cast<size_t>(r));
  }
  close(f);
  return true;
}

// Rows of one table that have a decimal field equal to one of `inodes`.
void ProcNet(std::string& o, size_t batch, const char* table, const std::set<unsigned long long>& inodes) {
  std::string path = std::string("/proc/net/") + table;
  std::string text;
  int err = 0;
  o += "{\"kind\":\"procnet\",\"batch\":";
  Num(o, static_cast<long long>(batch));
  o += ",\"table\":";
  JStr(o, table, strlen(table));
  if (!ReadWhole(path.c_str(), &text, &err)) {
    o += ",\"errno\":";
    Num(o, err);
    o += "}\n";
    return;
  }
  size_t nl = text.find('\n');
  std::string header = text.substr(0, nl == std::string::npos ? text.size() : nl);
  o += ",\"header\":";
  JStr(o, header);
  o += ",\"lines\":[";
  bool first = true;
  size_t pos = nl == std::string::npos ? text.size() : nl + 1;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    bool hit = false;
    for (size_t i = pos; i < end && !hit;) {
      while (i < end && (text[i] == ' ' || text[i] == '\t')) ++i;
      size_t j = i;
      unsigned long long v = 0;
      bool digits = j < end;
      while (j < end && text[j] != ' ' && text[j] != '\t') {
        if (text[j] < '0' || text[j] > '9') digits = false;
        else v = v * 10 + static_cast<unsigned>(text[j] - '0');
        ++j;
      }
      if (digits && j > i && inodes.count(v)) hit = true;
      i = j;
    }
    if (hit) {
      if (!first) o.push_back(',');
      first = false;
      JStr(o, text.data() + pos, end - pos);
    }
    pos = end + 1;
  }
  o += "]}\n";
}

}  // namespace

int main(int argc, char** argv) {
  size_t batchSize = 2048;
  size_t closeThreads = 128;
  bool procNet = true;
  Route route = Route::kSocket;
  const char* routeName = "socket";
  std::vector<int32_t> d, t, p;

  std::vector<int32_t> positional;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--batch") {
      batchSize = static_cast<size_t>(ParseRange("--batch", i + 1 < argc ? argv[++i] : nullptr, 1, 65536));
    } else if (a == "--close-threads") {
      closeThreads = static_cast<size_t>(ParseRange("--close-threads", i + 1 < argc ? argv[++i] : nullptr, 1, 256));
    } else if (a == "--no-procnet") {
      procNet = false;
    } else if (a == "--route") {
      std::string r = i + 1 < argc ? argv[++i] : "";
      if (r == "socket") {
        route = Route::kSocket;
        routeName = "socket";
      } else if (r == "socketcall") {
        if (!sockbridge::HasSocketcall()) {
          Usage("--route socketcall: the " SB_ABI " ABI has no socketcall(2) (only i386 has it); use --route socket");
        }
        route = Route::kSocketcall;
        routeName = "socketcall";
      } else {
        Usage("--route: \"" + r + "\" is not a route; expected socket or socketcall");
      }
    } else if (a == "--help" || a == "-h") {
      Usage("the kernel road of sockbridge for the " SB_ABI " ABI");
    } else {
      int32_t v;
      if (!ParseInt32(argv[i], &v)) {
        Usage("\"" + a + "\" is neither an option (--batch, --route, --close-threads, --no-procnet) "
              "nor an int32 (decimal, 0x hex or 0 octal)");
      }
      positional.push_back(v);
    }
  }
  if (!positional.empty()) {
    if (positional.size() % 3 != 0) {
      Usage(std::to_string(positional.size()) + " numbers given: cases are DOMAIN TYPE PROTOCOL triples");
    }
    for (size_t i = 0; i < positional.size(); i += 3) {
      d.push_back(positional[i]);
      t.push_back(positional[i + 1]);
      p.push_back(positional[i + 2]);
    }
  } else {
    std::string in;
    char buf[65536];
    for (;;) {
      ssize_t r = read(0, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) Usage(std::string("cannot read stdin: ") + strerror(errno));
      if (r == 0) break;
      in.append(buf, static_cast<size_t>(r));
    }
    size_t pos = 0, lineNo = 0;
    while (pos < in.size()) {
      size_t end = in.find('\n', pos);
      if (end == std::string::npos) end = in.size();
      std::string line = in.substr(pos, end - pos);
      pos = end + 1;
      ++lineNo;
      size_t s = line.find_first_not_of(" \t\r");
      if (s == std::string::npos || line[s] == '#') continue;
      std::vector<int32_t> v;
      size_t i = s;
      while (i < line.size()) {
        size_t e = line.find_first_of(" \t\r", i);
        if (e == std::string::npos) e = line.size();
        std::string tok = line.substr(i, e - i);
        int32_t x;
        if (!ParseInt32(tok.c_str(), &x)) {
          Usage("stdin line " + std::to_string(lineNo) + ": \"" + tok + "\" is not an int32 (decimal, 0x hex or 0 octal)");
        }
        v.push_back(x);
        i = line.find_first_not_of(" \t\r", e);
        if (i == std::string::npos) break;
      }
      if (v.size() != 3) {
        Usage("stdin line " + std::to_string(lineNo) + ": \"" + line + "\" has " + std::to_string(v.size()) +
              " numbers; a case is DOMAIN TYPE PROTOCOL");
      }
      d.push_back(v[0]);
      t.push_back(v[1]);
      p.push_back(v[2]);
    }
  }

  std::string o;
  struct utsname u;
  if (uname(&u) != 0) memset(&u, 0, sizeof u);
  o += "{\"kind\":\"probe\",\"schema\":\"sockbridge.probe/1\",\"abi\":\"" SB_ABI "\",\"route\":\"";
  o += routeName;
  o += "\",\"machine\":";
  JStr(o, u.machine, strlen(u.machine));
  o += ",\"release\":";
  JStr(o, u.release, strlen(u.release));
  o += ",\"pid\":";
  Num(o, getpid());
  o += ",\"ids\":{\"uid\":";
  Num(o, getuid());
  o += ",\"euid\":";
  Num(o, geteuid());
  o += ",\"gid\":";
  Num(o, getgid());
  o += ",\"egid\":";
  Num(o, getegid());
  o += "},\"consts\":{";
  const struct {
    const char* name;
    long long v;
  } consts[] = {
      {"SOL_SOCKET", SOL_SOCKET},     {"SO_TYPE", SO_TYPE},
      {"SO_PROTOCOL", SO_PROTOCOL},   {"SO_DOMAIN", SO_DOMAIN},
      {"SOCK_STREAM", SOCK_STREAM},   {"SOCK_DGRAM", SOCK_DGRAM},
      {"SOCK_NONBLOCK", SOCK_NONBLOCK}, {"SOCK_CLOEXEC", SOCK_CLOEXEC},
      {"O_NONBLOCK", O_NONBLOCK},     {"O_CLOEXEC", O_CLOEXEC},
      {"O_RDWR", O_RDWR},             {"EINVAL", EINVAL},
      {"EAFNOSUPPORT", EAFNOSUPPORT}, {"EPROTONOSUPPORT", EPROTONOSUPPORT},
      {"ESOCKTNOSUPPORT", ESOCKTNOSUPPORT}, {"EPROTOTYPE", EPROTOTYPE},
      {"EPERM", EPERM},               {"EACCES", EACCES},
  };
  bool firstConst = true;
  for (const auto& c : consts) {
    if (!firstConst) o.push_back(',');
    firstConst = false;
    o += "\"";
    o += c.name;
    o += "\":";
    Num(o, c.v);
  }
  o += "},\"batch\":";
  Num(o, static_cast<long long>(batchSize));
  o += "}\n";
  Flush(o);

  const size_t total = d.size();
  std::vector<int32_t> err(batchSize), fd(batchSize), fdFlags(batchSize), flFlags(batchSize),
      soDomain(batchSize), soType(batchSize), soProtocol(batchSize);
  std::vector<uint32_t> stMode(batchSize), stUid(batchSize), stGid(batchSize);
  std::vector<double> stIno(batchSize);
  size_t batches = 0;
  for (size_t first = 0; first < total; first += batchSize, ++batches) {
    const size_t n = total - first < batchSize ? total - first : batchSize;
    std::fill(stMode.begin(), stMode.end(), 0);
    std::fill(stUid.begin(), stUid.end(), 0);
    std::fill(stGid.begin(), stGid.end(), 0);
    std::fill(stIno.begin(), stIno.end(), 0);
    const BatchOut out{err.data(),      fd.data(),     fdFlags.data(), flFlags.data(),
                       soDomain.data(), soType.data(), soProtocol.data(), stMode.data(),
                       stUid.data(),    stGid.data(),  stIno.data()};
    // The fd table first, then the output of the previous batch is already written: no fd
    // is opened between here and the batch's last socket().
    std::vector<int> openFds = OpenFds();
    std::string arena;
    std::vector<Captured> caps;
    sockbridge::RunBatch(route, d.data() + first, t.data() + first, p.data() + first, n,
                         false, out, arena, caps);

    o += "{\"kind\":\"batch\",\"batch\":";
    Num(o, static_cast<long long>(batches));
    o += ",\"first\":";
    Num(o, static_cast<long long>(first));
    o += ",\"count\":";
    Num(o, static_cast<long long>(n));
    o += ",\"openFds\":[";
    for (size_t k = 0; k < openFds.size(); ++k) {
      if (k) o.push_back(',');
      Num(o, openFds[k]);
    }
    o += "]}\n";
    size_t ci = 0;
    std::set<unsigned long long> inodes;
    std::set<int> families;
    std::vector<int32_t> fds;
    for (size_t i = 0; i < n; ++i) {
      o += "{\"kind\":\"case\",\"i\":";
      Num(o, static_cast<long long>(first + i));
      o += ",\"case\":{\"domain\":";
      Num(o, d[first + i]);
      o += ",\"type\":";
      Num(o, t[first + i]);
      o += ",\"protocol\":";
      Num(o, p[first + i]);
      o += "},\"errno\":";
      Num(o, err[i]);
      o += ",\"fd\":";
      Num(o, fd[i]);
      if (err[i] == 0) {
        const Captured& c = caps[ci++];
        fds.push_back(fd[i]);
        families.insert(soDomain[i]);
        inodes.insert(static_cast<unsigned long long>(stIno[i]));
        o += ",\"link\":";
        JStr(o, arena.data() + c.link.off, c.link.len);
        o += ",\"fdinfo\":";
        JStr(o, arena.data() + c.fdinfo.off, c.fdinfo.len);
        o += ",\"stat\":{\"mode\":";
        Num(o, stMode[i]);
        o += ",\"uid\":";
        Num(o, stUid[i]);
        o += ",\"gid\":";
        Num(o, stGid[i]);
        o += ",\"ino\":";
        Num(o, static_cast<long long>(stIno[i]));
        o += "},\"fdFlags\":";
        Num(o, fdFlags[i]);
        o += ",\"flFlags\":";
        Num(o, flFlags[i]);
        o += ",\"soDomain\":";
        Num(o, soDomain[i]);
        o += ",\"soType\":";
        Num(o, soType[i]);
        o += ",\"soProtocol\":";
        Num(o, soProtocol[i]);
        o += ",\"protoName\":";
        JStr(o, arena.data() + c.proto.off, c.proto.len);
      }
      o += "}\n";
    }
    if (procNet && !fds.empty()) {
      for (const char* table : kTableOrder) {
        bool want = false;
        for (int f : families) want = want || TableOfFamily(f, table);
        if (want) ProcNet(o, batches, table, inodes);
      }
    }
    std::vector<int32_t> errs(fds.size());
    sockbridge::CloseAll(fds.data(), errs.data(), fds.size(), closeThreads);
    o += "{\"kind\":\"closed\",\"batch\":";
    Num(o, static_cast<long long>(batches));
    o += ",\"fds\":";
    Num(o, static_cast<long long>(fds.size()));
    o += ",\"errors\":[";
    bool firstErr = true;
    for (size_t k = 0; k < fds.size(); ++k) {
      if (errs[k] == 0) continue;
      if (!firstErr) o.push_back(',');
      firstErr = false;
      o += "[";
      Num(o, fds[k]);
      o += ",";
      Num(o, errs[k]);
      o += "]";
    }
    o += "]}\n";
    Flush(o);
  }
  o += "{\"kind\":\"end\",\"cases\":";
  Num(o, static_cast<long long>(total));
  o += ",\"batches\":";
  Num(o, static_cast<long long>(batches));
  o += "}\n";
  Flush(o);
  return 0;
}
