#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Writes the seed corpora for fuzz-proto and fuzz-kmsg.

The frames are encoded here independently of common/proto.c, with zlib's
CRC-32, so the seeds double as a check that the C codec matches
doc/protocol.md. The fuzz-modinfo seeds are real .ko files (fuzz/README.md).
Run from anywhere: python3 fuzz/gen-seeds.py
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

T = dict(HELLO=1, SYNC=2, MOUNT=3, LOAD=4, UNLOAD=5, RESULT=6, KMSG=7, KMSG_GAP=8,
         KMSG_START=9, PROTO_ERROR=10, RUN=11, OUTPUT=12, MODULES=13,
         PTY_OPEN=18, PTY_DATA=19, PTY_RESIZE=20, PTY_CLOSE=21)
F = dict(NONCE=1, PROTO=2, VERSION=3, ARCH=4, RELEASE=5, BOOT_ID=6, MOUNT=7, PATH=8,
         PARAMS=9, MODULE=10, ERRNO=11, ERROR=12, USEC=13, SEQ=14, LEVEL=15, TS=16,
         TEXT=17, COUNT=18, TAG=19, FLAGS=20, CMD=21, STATUS=22, STREAM=23,
         FACILITY=24, SYMBOL=25, ROWS=34, COLS=35, TERM=36, ACK=37)


def frame(type_, id_, *fields):
    payload = b""
    for key, value in fields:
        if isinstance(value, int):
            value = struct.pack("<Q", value)
        elif isinstance(value, str):
            value = value.encode()
        payload += struct.pack("<BH", F[key], len(value)) + value
    hdr = b"KW" + struct.pack("<BBII", 1, T[type_], id_, len(payload))
    return hdr + struct.pack("<I", zlib.crc32(hdr + payload)) + payload


def kmsg(seq, level, text, fac=0):
    return frame("KMSG", 0, ("SEQ", seq), ("LEVEL", level), ("FACILITY", fac),
                 ("TS", 1000 * seq + 17), ("TEXT", text))


hello = frame("HELLO", 0, ("NONCE", 0x5eed5eed12345678), ("PROTO", 1), ("VERSION", "0.1.0"),
              ("ARCH", "x86_64"), ("RELEASE", "6.1.0-56-amd64"),
              ("BOOT_ID", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"), ("MOUNT", "kw0 /mnt/src"))
good = frame("RESULT", 7, ("ERRNO", 0), ("USEC", 1234))
bad_crc = bytearray(frame("RESULT", 6, ("ERRNO", 0)))
bad_crc[12] ^= 0x55
half = frame("OUTPUT", 3, ("STREAM", 1), ("TEXT", "x" * 200))[:90]

proto = {
    "hello": hello,
    "sync-hello": b"\xff" * 64 + frame("SYNC", 0, ("NONCE", 42)) + hello,
    "load-result": frame("LOAD", 7, ("PATH", "/mnt/src/hello.ko"), ("PARAMS", "a=1 b=2"))
    + frame("RESULT", 7, ("ERRNO", 2), ("ERROR", "Unknown symbol in module"),
            ("SYMBOL", "foo_register"), ("SYMBOL", "foo_unregister"), ("USEC", 5321)),
    "kmsg-stream": frame("KMSG_START", 1, ("SEQ", 100)) + frame("RESULT", 1, ("ERRNO", 0))
    + kmsg(100, 6, "9p iter: build A") + kmsg(101, 3, "hello: \\x1b[31mred\\x1b[0m")
    + frame("KMSG_GAP", 0, ("SEQ", 140), ("COUNT", 38)) + kmsg(140, 4, "", 1),
    "run-output": frame("RUN", 9, ("CMD", "lsmod | head -3"))
    + frame("OUTPUT", 9, ("STREAM", 1), ("TEXT", "Module Size Used by\nhello 16384 0\n"))
    + frame("OUTPUT", 9, ("STREAM", 2), ("TEXT", "head: broken pipe\n"))
    + frame("RESULT", 9, ("STATUS", 141), ("USEC", 880)),
    "modules": frame("MODULES", 4) + frame("RESULT", 4, ("ERRNO", 0), ("MODULE", "hello"),
                                           ("MODULE", "9pnet_virtio"), ("MODULE", "9p")),
    "mount-unload": frame("MOUNT", 2, ("TAG", "kw0"), ("PATH", "/mnt/src"))
    + frame("UNLOAD", 5, ("MODULE", "hello"), ("FLAGS", 1))
    + frame("PROTO_ERROR", 0, ("COUNT", 17), ("ERROR", "skipped garbage")),
    "garbage": b"[    0.000000] Linux version 6.1.0\r\nlogin: K\x00KW\x02" + good
    + bytes(bad_crc) + good + half + b"\xff" * 200 + good,
    "pty": frame("PTY_OPEN", 12, ("ROWS", 40), ("COLS", 120), ("TERM", "screen"), ("PATH", "/mnt/kmod-watch"))
    + frame("RESULT", 12, ("ERRNO", 0))
    + frame("PTY_DATA", 12, ("TEXT", "kmod-watch:/mnt/kmod-watch# \x1b[0m"))
    + frame("PTY_DATA", 12, ("TEXT", "lsmod\r\x03"), ("ACK", 4096))
    + frame("PTY_RESIZE", 12, ("ROWS", 31), ("COLS", 97)) + kmsg(200, 6, "hello: build B")
    + frame("PTY_CLOSE", 12, ("STATUS", 130)),
    "false-magic": b"KW\x01\x06\x00\x00\x00\x00\x28\x00\x00\x00\x01\x02\x03\x04" + good + good,
}

kmsgs = {
    "simple": b"6,1234,5678901,-;hello: build A\n",
    "caller": b"6,339,5140900,-,caller=T1;NET: Registered PF_INET6 protocol family\n",
    "dict": b"3,824,14412311,-;usb 1-1: device descriptor read/64, error -71\n"
    b" SUBSYSTEM=usb\n DEVICE=c189:1\n",
    "cont": b"12,5,6,c;systemd[1]: \\x1b[0;1;31mFailed\\x1b[0m\n",
}

for name, corpus in (("fuzz-proto", proto), ("fuzz-kmsg", kmsgs)):
    os.makedirs(os.path.join(HERE, "corpus", name), exist_ok=True)
    for seed, data in corpus.items():
        with open(os.path.join(HERE, "corpus", name, seed + ".bin"), "wb") as f:
            f.write(data)
