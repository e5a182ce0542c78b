#!/usr/bin/env python3
"""gpu_blobs.py -- the GPU_PTX / GPU_CUBIN blob layout of an engine file
(runtime/engine_format.h) for tests/gpu/cuda_executor.sh.

  gpu_blobs.py check ENGINE       format 1.4 and every blob 64-byte aligned
                                  (prints the blob count)
  gpu_blobs.py shift ENGINE OUT MINOR
                                  moves the first cubin that has >= 8 bytes
                                  of padding after it 8 bytes on (the bytes
                                  and its table offset), sets the format
                                  minor, and reseals the checksum: MINOR 3
                                  makes a 1.3-style engine with a misaligned
                                  cubin (must still run), 4 a 1.4 engine
                                  breaking its promise (must be refused).
Exit status 3 when no cubin has room to move.
"""
import struct
import sys

HEADER = 256
SECTION_ENTRY = 32
PTX, CUBIN = 7, 8


def crc32c(data):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    c = 0xFFFFFFFF
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def sections(b):
    count, = struct.unpack_from("<I", b, 28)
    table, = struct.unpack_from("<Q", b, 32)
    out = {}
    for i in range(count):
        kind, _, off, size, _ = struct.unpack_from("<IIQQQ", b, table + i * SECTION_ENTRY)
        out[kind] = (off, size)
    return out


def blobs(b, sec):
    off, _ = sec
    n, esize = struct.unpack_from("<II", b, off)
    for i in range(n):
        at = off + 8 + i * esize
        sm, ver, boff, bsize = struct.unpack_from("<IIQQ", b, at)
        yield at, sm, boff, bsize


def main():
    mode, path = sys.argv[1], sys.argv[2]
    b = bytearray(open(path, "rb").read())
    minor, = struct.unpack_from("<H", b, 10)
    secs = sections(b)
    if mode == "check":
        if minor != 4:
            sys.exit("format 1.%d, want 1.4" % minor)
        n = 0
        for kind in (PTX, CUBIN):
            if kind not in secs:
                continue
            for _, sm, boff, _ in blobs(b, secs[kind]):
                if (secs[kind][0] + boff) % 64:
                    sys.exit("kind %d sm_%d blob at %d: not 64-byte aligned" % (kind, sm, boff))
                n += 1
        print(n)
        return
    out, new_minor = sys.argv[3], int(sys.argv[4])
    soff, ssize = secs[CUBIN]
    for at, sm, boff, bsize in blobs(b, secs[CUBIN]):
        if (bsize + 63) // 64 * 64 - bsize >= 8 and boff + bsize + 8 <= ssize:
            start = soff + boff
            b[start + 8:start + 8 + bsize] = bytes(b[start:start + bsize])
            struct.pack_into("<Q", b, at + 8, boff + 8)
            break
    else:
        sys.exit(3)
    struct.pack_into("<H", b, 10, new_minor)
    struct.pack_into("<I", b, 24, crc32c(bytes(b[HEADER:])))
    struct.pack_into("<Q", b, 80, fnv1a64(bytes(b[HEADER:])))
    open(out, "wb").write(bytes(b))


if __name__ == "__main__":
    main()
