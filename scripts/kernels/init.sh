#!/bin/sh
# /init of the sockbridge test initramfs (see scripts/kernels/initramfs.ts).
#
# Runs each job of /job/jobs ("<name> <root|user> <shell command>", one per line) in
# /opt/sockbridge, then powers off. Job output goes to the second serial port (ttyS1), framed
# so the host can cut it out of the byte stream and tell a complete frame from a cut one:
#
#   @@SOCKBRIDGE <name> BEGIN
#   <gzip of the output, base64, 76 columns>
#   @@SOCKBRIDGE <name> END <bytes before gzip>
#
# and after each job "@@SOCKBRIDGE <name> RC <exit code> <uptime at start> <uptime at end>".
# The console (ttyS0) keeps only the kernel's own messages.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export HOME=/tmp LANG=C
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mount -t tmpfs -o mode=1777 tmpfs /tmp
# The host profile reads the active LSMs from /sys/kernel/security/lsm, as on a booted system.
/bin/busybox mount -t securityfs securityfs /sys/kernel/security 2>/dev/null

# The data port: the second serial line, or (foreign guests: sockbridge.data=ttyAMA0) the console
# line itself, which then must carry no kernel message inside a frame: console loglevel 1.
D=/dev/ttyS1
for w in $(cat /proc/cmdline); do
  case "$w" in sockbridge.data=*) D=/dev/${w#sockbridge.data=} ;; esac
done
case "$D" in /dev/ttyS1) ;; *) echo 1 > /proc/sys/kernel/printk ;; esac
stty -F $D raw -echo 115200 2>/dev/null

say() { echo "@@SOCKBRIDGE $*" > $D; }

frame() { # name file
  say "$1 BEGIN"
  gzip -c < "$2" | base64 > $D
  say "$1 END $(wc -c < "$2")"
}

# request_module() runs this helper: the kernel default is /sbin/modprobe already, but say it
# so the profile reads it from the place the kernel does.
echo /sbin/modprobe > /proc/sys/kernel/modprobe

read up rest < /proc/uptime
say "READY $(uname -r) $up $(nproc)"

while read -r name who cmd; do
  case "$name" in ''|'#'*) continue ;; esac
  read t0 rest < /proc/uptime
  if [ "$who" = root ]; then
    (cd /opt/sockbridge && sh -c "$cmd") > /tmp/out 2> /tmp/err < /dev/null
  else
    # setuid from root to 65534 without keepcaps clears the permitted and effective sets.
    # The full path: busybox sh prefers its own applets, and busybox's setpriv has no --reuid.
    # Foreign guests have no util-linux: busybox su (root needs no password; setgid, initgroups,
    # setuid: the same credentials, the bounding set left full).
    if [ -x /usr/bin/setpriv ]; then
      (cd /opt/sockbridge && /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all sh -c "$cmd") \
        > /tmp/out 2> /tmp/err < /dev/null
    else
      (cd /opt/sockbridge && su -s /bin/sh nobody -c "$cmd") > /tmp/out 2> /tmp/err < /dev/null
    fi
  fi
  rc=$?
  read t1 rest < /proc/uptime
  frame "$name.out" /tmp/out
  frame "$name.err" /tmp/err
  say "$name RC $rc $t0 $t1"
done < /job/jobs

say "DONE"
sync
poweroff -f
