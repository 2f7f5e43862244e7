#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# qemu-run.sh — boot your kernel and initramfs in QEMU, the way the 9p
# tutorial's scripts/qemu-run.sh does (QEMU_9P, QEMU_9P_PATH, QEMU_9P_TAG,
# QEMU_9P_SEC mean exactly what its table says), plus one switch, QEMU_KW,
# for the virtio-serial channel `kmod-watch --connect` attaches to.
#
#   KERNEL=out/Image INITRD=rootfs.cpio.gz \
#   QEMU_9P=on QEMU_9P_PATH="$(pwd)/example/mini" QEMU_KW=on \
#     examples/qemu-run.sh run
#
# and in a second terminal:
#
#   QEMU_9P_PATH="$(pwd)/example/mini" \
#     kmod-watch --connect unix:"$XDG_RUNTIME_DIR"/kmod-watch.sock example/mini/00-kernel_module_hello
#
# The initramfs needs the agent: kmod-watch inject-agent rootfs.cpio.gz
# rootfs-kw.cpio.gz, and APPEND="rdinit=/kmod-watch-init".
#
# Variables (default in brackets):
#   KERNEL        the kernel image (required)
#   INITRD        the initramfs [none]
#   APPEND        more kernel command line [""]; console= comes first
#   QEMU_ARCH     x86_64 or aarch64 [this machine's]
#   QEMU_ACCEL    tcg or kvm [tcg]
#   QEMU_MEM      memory, MiB [256]
#   QEMU_9P       on: share QEMU_9P_PATH with the guest over 9p [off]
#   QEMU_9P_PATH  the host directory to share; required with QEMU_9P=on; a
#                 relative path is made absolute here (QEMU would resolve it
#                 from wherever it runs) [""]
#   QEMU_9P_TAG   the mount tag the guest mounts [hostshare]
#   QEMU_9P_SEC   security_model: none, mapped-xattr or passthrough (root
#                 only) [none]
#   QEMU_KW       on: the kmod-watch agent's port, org.kmodwatch.0, on a unix
#                 socket QEMU serves [off]
#   QEMU_KW_SOCK  that socket [$XDG_RUNTIME_DIR/kmod-watch.sock, else
#                 /tmp/kmod-watch-$(id -u).sock — what kmod-watch qemu-args uses]
#   QEMU_MONITOR  unix:PATH puts the QEMU monitor on that socket (system_reset,
#                 quit) [on the console: Ctrl-A c]
#   QEMU_EXTRA    more QEMU arguments, split at spaces [""]
#
# Verbs: run (start QEMU), print (show the command line, start nothing).
# Inside the guest, the share mounts with
#   mount -t 9p -o trans=virtio,version=9p2000.L "$QEMU_9P_TAG" /mnt/share
set -eu

die() {
        echo "qemu-run.sh: $*" >&2
        exit 1
}

# QEMU's option syntax: a comma inside a value is written twice.
qemu_escape() {
        printf '%s' "$1" | sed 's/,/,,/g'
}

verb=${1:-}
case $verb in
run | print) ;;
*)
        echo "usage: [VARIABLES] $0 run|print   (the variables are described at the top of the script)" >&2
        exit 64
        ;;
esac

: "${KERNEL:=}"
: "${INITRD:=}"
: "${APPEND:=}"
: "${QEMU_ARCH:=$(uname -m)}"
: "${QEMU_ACCEL:=tcg}"
: "${QEMU_MEM:=256}"
: "${QEMU_9P:=off}"
: "${QEMU_9P_PATH:=}"
: "${QEMU_9P_TAG:=hostshare}"
: "${QEMU_9P_SEC:=none}"
: "${QEMU_KW:=off}"
: "${QEMU_MONITOR:=}"
: "${QEMU_EXTRA:=}"
if [ -z "${QEMU_KW_SOCK:-}" ]; then
        if [ -n "${XDG_RUNTIME_DIR:-}" ] && [ -w "${XDG_RUNTIME_DIR}" ]; then
                QEMU_KW_SOCK=$XDG_RUNTIME_DIR/kmod-watch.sock
        else
                QEMU_KW_SOCK=/tmp/kmod-watch-$(id -u).sock
        fi
fi

[ -n "$KERNEL" ] || die "KERNEL is not set (the kernel image to boot)"
[ -r "$KERNEL" ] || die "KERNEL=$KERNEL: no such file"
[ -z "$INITRD" ] || [ -r "$INITRD" ] || die "INITRD=$INITRD: no such file"

case $QEMU_ARCH in
x86_64 | amd64)
        qemu=qemu-system-x86_64 machine=q35 console=ttyS0
        ;;
aarch64 | arm64)
        qemu=qemu-system-aarch64 machine=virt console=ttyAMA0
        ;;
*) die "QEMU_ARCH=$QEMU_ARCH: x86_64 or aarch64" ;;
esac
case $QEMU_ACCEL in
tcg) cpu=max ;;
kvm) cpu=host ;;
*) die "QEMU_ACCEL=$QEMU_ACCEL: tcg or kvm" ;;
esac

set -- "$qemu" -M "$machine" -accel "$QEMU_ACCEL" -cpu "$cpu" -m "$QEMU_MEM" \
        -nographic -nic none -kernel "$KERNEL"
[ -z "$INITRD" ] || set -- "$@" -initrd "$INITRD"
set -- "$@" -append "console=$console${APPEND:+ $APPEND}"

case $QEMU_9P in
on)
        [ -n "$QEMU_9P_PATH" ] || die "QEMU_9P=on needs QEMU_9P_PATH (the host directory to share)"
        # Pitfall: path= must be absolute, or QEMU resolves it from its own cwd.
        [ -d "$QEMU_9P_PATH" ] || die "QEMU_9P_PATH=$QEMU_9P_PATH is not a directory"
        QEMU_9P_PATH=$(cd "$QEMU_9P_PATH" && pwd -P)
        # Pitfall: the tag must be the one the guest mounts; QEMU takes 31 bytes at most.
        case $QEMU_9P_TAG in
        "" | *,* | *" "*) die "QEMU_9P_TAG='$QEMU_9P_TAG': a mount tag has no commas or spaces" ;;
        esac
        [ ${#QEMU_9P_TAG} -le 31 ] || die "QEMU_9P_TAG=$QEMU_9P_TAG is longer than QEMU's 31 bytes"
        # Pitfall: passthrough needs QEMU running as root.
        case $QEMU_9P_SEC in
        none | mapped-xattr | mapped-file) ;;
        passthrough)
                [ "$(id -u)" = 0 ] ||
                        die "QEMU_9P_SEC=passthrough needs root (QEMU must run as root); use none (the default) or mapped-xattr"
                ;;
        *) die "QEMU_9P_SEC=$QEMU_9P_SEC: none, mapped-xattr or passthrough" ;;
        esac
        # Pitfall: the id must start with a letter (id=9p0 is refused).
        set -- "$@" -virtfs \
                "local,path=$(qemu_escape "$QEMU_9P_PATH"),mount_tag=$QEMU_9P_TAG,security_model=$QEMU_9P_SEC,id=fs9p"
        ;;
off) ;;
*) die "QEMU_9P=$QEMU_9P: on or off" ;;
esac

case $QEMU_KW in
on)
        case $QEMU_KW_SOCK in
        /*) ;;
        *) QEMU_KW_SOCK=$(pwd)/$QEMU_KW_SOCK ;;
        esac
        set -- "$@" -device virtio-serial-pci,id=kmodwatch-serial \
                -chardev "socket,id=kmodwatch,path=$(qemu_escape "$QEMU_KW_SOCK"),server=on,wait=off" \
                -device virtserialport,bus=kmodwatch-serial.0,chardev=kmodwatch,name=org.kmodwatch.0
        ;;
off) ;;
*) die "QEMU_KW=$QEMU_KW: on or off" ;;
esac

case $QEMU_MONITOR in
"") ;;
unix:/*) set -- "$@" -monitor "$(qemu_escape "$QEMU_MONITOR"),server=on,wait=off" ;;
*) die "QEMU_MONITOR=$QEMU_MONITOR: unix:/absolute/path" ;;
esac

# shellcheck disable=SC2086 # QEMU_EXTRA is a list of words
[ -z "$QEMU_EXTRA" ] || set -- "$@" $QEMU_EXTRA

if [ "$verb" = print ]; then
        for a in "$@"; do
                case $a in
                *[!A-Za-z0-9_@%+=:,./-]* | "") printf "'%s' " "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")" ;;
                *) printf '%s ' "$a" ;;
                esac
        done
        echo
        exit 0
fi

if [ "$QEMU_9P" = on ]; then
        echo "qemu-run.sh: sharing $QEMU_9P_PATH as '$QEMU_9P_TAG'; in the guest:" \
                "mount -t 9p -o trans=virtio,version=9p2000.L $QEMU_9P_TAG /mnt/share" >&2
fi
if [ "$QEMU_KW" = on ]; then
        echo "qemu-run.sh: kmod-watch attaches with: kmod-watch --connect unix:$QEMU_KW_SOCK" \
                "${QEMU_9P_PATH:+--share $QEMU_9P_PATH }--tag $QEMU_9P_TAG DIR" >&2
fi
exec "$@"
