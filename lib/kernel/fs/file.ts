/**
 * The fd table of the simulated process (fs/file.c).
 *
 * alloc_fd(start=0, end=rlimit(RLIMIT_NOFILE), flags) takes the lowest free slot at or above
 * files->next_fd (which is itself the lowest slot that may be free, so the result is simply
 * the lowest free fd); fd >= end gives EMFILE, and growing the table past fs.nr_open
 * (expand_files) gives EMFILE too. O_CLOEXEC only sets the close-on-exec bit of the slot.
 */
import { EMFILE } from '../../abi/errno';

export class FdTable {
  private used: Uint8Array = new Uint8Array(64);
  /** Every fd below this one is in use. */
  private firstFree = 0;
  private count = 0;

  constructor(open: readonly number[] = []) {
    this.set(open);
  }

  /** Replace the table's contents. */
  set(open: readonly number[]): void {
    this.used = new Uint8Array(64);
    this.firstFree = 0;
    this.count = 0;
    for (const fd of open) this.install(fd);
  }

  /** The lowest free fd (find_next_fd from files->next_fd). */
  lowestFree(): number {
    return this.firstFree;
  }

  isOpen(fd: number): boolean {
    return fd >= 0 && fd < this.used.length && this.used[fd] === 1;
  }

  /** fd_install: the slot becomes used. */
  install(fd: number): void {
    if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
      throw new RangeError(`bad fd ${String(fd)}: expected an integer 0..2147483647`);
    }
    if (fd >= this.used.length) {
      let n = this.used.length;
      while (n <= fd) n *= 2;
      const grown = new Uint8Array(n);
      grown.set(this.used);
      this.used = grown;
    }
    if (this.used[fd] === 1) return;
    this.used[fd] = 1;
    this.count++;
    if (fd === this.firstFree) {
      let f = fd + 1;
      while (f < this.used.length && this.used[f] === 1) f++;
      this.firstFree = f;
    }
  }

  /** close(fd): the slot becomes free again (a free fd is ignored, as close() would say EBADF). */
  close(fd: number): void {
    if (!this.isOpen(fd)) return;
    this.used[fd] = 0;
    this.count--;
    if (fd < this.firstFree) this.firstFree = fd;
  }

  /** The open fds, ascending. */
  list(): number[] {
    const out: number[] = [];
    for (let fd = 0; fd < this.used.length && out.length < this.count; fd++) {
      if (this.used[fd] === 1) out.push(fd);
    }
    return out;
  }
}

/**
 * get_unused_fd_flags -> alloc_fd(0, rlimit(RLIMIT_NOFILE), flags): the fd, or -EMFILE.
 * `nofileSoft` < 0 means RLIM_INFINITY; `nrOpen` < 0 means unknown (no table-size limit applied).
 */
export function allocFd(table: FdTable, nofileSoft: number, nrOpen: number): number {
  const fd = table.lowestFree();
  if (nofileSoft >= 0 && fd >= nofileSoft) return -EMFILE;
  if (nrOpen >= 0 && fd >= nrOpen) return -EMFILE;
  return fd;
}
