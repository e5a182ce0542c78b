/* cpu.c — which INGOT_CPU_* features this machine can run (x86-64 Linux).
 *
 * A feature counts only when the CPU reports it (CPUID) *and* the OS saves
 * its register state (XGETBV, XCR0): AVX needs the SSE and AVX state bits,
 * AVX-512 the opmask and upper-ZMM bits, AMX the tile config and tile data
 * bits.  Linux additionally hands out AMX tile data per process on request
 * (arch_prctl ARCH_REQ_XCOMP_PERM); rt_cpu_enable_amx asks for it when an
 * engine needs AMX.  Nothing is cached: detection runs a few CPUID
 * instructions per engine load, so the runtime keeps no global state.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rt.h"

#define XCR0_SSE (1u << 1)
#define XCR0_AVX (1u << 2)
#define XCR0_AVX512 (7u << 5) /* opmask, ZMM_Hi256, Hi16_ZMM */
#define XCR0_AMX (3u << 17)   /* XTILECFG, XTILEDATA */

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

/* Names in bit order (ORDER INGOT_CPU in engine_format.h). */
#define N_NAMES 17
static const char *const feature_names[N_NAMES] = {
    "sse4.2",   "avx",        "avx2",       "fma",     "f16c",
    "avx512f",  "avx512bw",   "avx512dq",   "avx512vl", "avx512vnni",
    "avx512bf16", "avxvnni",  "amx-tile",   "amx-int8", "amx-bf16",
    "bmi2",     "amx-fp16"};

static uint64_t xgetbv0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t)hi << 32 | lo;
}

uint64_t rt_cpu_detect(void) {
  unsigned a, b, c, d, max;
  if (!__get_cpuid(0, &max, &b, &c, &d) || max < 1) return 0;
  __cpuid_count(1, 0, a, b, c, d);
  uint64_t f = 0;
  if (c >> 20 & 1) f |= INGOT_CPU_SSE42;
  uint64_t xcr0 = (c >> 27 & 1) ? xgetbv0() : 0; /* OSXSAVE */
  int os_avx = (xcr0 & (XCR0_SSE | XCR0_AVX)) == (XCR0_SSE | XCR0_AVX);
  int os_avx512 = os_avx && (xcr0 & XCR0_AVX512) == XCR0_AVX512;
  int os_amx = (xcr0 & XCR0_AMX) == XCR0_AMX;
  if (os_avx) {
    if (c >> 28 & 1) f |= INGOT_CPU_AVX;
    if (c >> 12 & 1) f |= INGOT_CPU_FMA;
    if (c >> 29 & 1) f |= INGOT_CPU_F16C;
  }
  if (max < 7) return f;
  unsigned max7;
  __cpuid_count(7, 0, max7, b, c, d);
  if (b >> 8 & 1) f |= INGOT_CPU_BMI2;
  if (os_avx && (b >> 5 & 1)) f |= INGOT_CPU_AVX2;
  if (os_avx512) {
    if (b >> 16 & 1) f |= INGOT_CPU_AVX512F;
    if (b >> 17 & 1) f |= INGOT_CPU_AVX512DQ;
    if (b >> 30 & 1) f |= INGOT_CPU_AVX512BW;
    if (b >> 31 & 1) f |= INGOT_CPU_AVX512VL;
    if (c >> 11 & 1) f |= INGOT_CPU_AVX512VNNI;
  }
  if (os_amx) {
    if (d >> 24 & 1) f |= INGOT_CPU_AMX_TILE;
    if (d >> 25 & 1) f |= INGOT_CPU_AMX_INT8;
    if (d >> 22 & 1) f |= INGOT_CPU_AMX_BF16;
  }
  if (max7 >= 1) {
    __cpuid_count(7, 1, a, b, c, d);
    if (os_avx && (a >> 4 & 1)) f |= INGOT_CPU_AVXVNNI;
    if (os_avx512 && (a >> 5 & 1)) f |= INGOT_CPU_AVX512BF16;
    if (os_amx && (a >> 21 & 1)) f |= INGOT_CPU_AMX_FP16;
  }
  return f;
}

const char *rt_cpu_names(uint64_t bits, char *buf, size_t n) {
  size_t len = 0;
  if (n) buf[0] = '\0';
  for (int i = 0; i < 64; i++) {
    if (!(bits >> i & 1)) continue;
    char unknown[16];
    const char *name = i < N_NAMES ? feature_names[i] : NULL;
    if (!name) {
      snprintf(unknown, sizeof unknown, "bit%d", i);
      name = unknown;
    }
    int w = snprintf(buf + len, n > len ? n - len : 0, "%s%s",
                     len ? " " : "", name);
    if (w < 0 || (size_t)w >= (n > len ? n - len : 0)) break;
    len += (size_t)w;
  }
  return buf;
}

ingot_status rt_cpu_check(uint64_t required, uint64_t available) {
  uint64_t unknown = required & ~RT_CPU_KNOWN;
  uint64_t missing = required & RT_CPU_KNOWN & ~available;
  char names[256];
  if (unknown)
    return ingot_make_status(
        INGOT_INCOMPATIBLE,
        "engine requires CPU features this runtime does not know (%s); "
        "it was built by a newer ingot",
        rt_cpu_names(unknown, names, sizeof names));
  if (missing)
    return ingot_make_status(
        INGOT_INCOMPATIBLE,
        "engine requires CPU features this machine lacks: %s (rebuild it "
        "here, or with --mcpu for this CPU)",
        rt_cpu_names(missing, names, sizeof names));
  return NULL;
}

ingot_status rt_cpu_enable_amx(void) {
  if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0)
    return ingot_make_status(
        INGOT_INCOMPATIBLE,
        "engine uses AMX but the kernel refuses tile data to this process "
        "(arch_prctl ARCH_REQ_XCOMP_PERM: %s)",
        strerror(errno));
  return NULL;
}
