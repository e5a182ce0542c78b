/* peak.h — the machine's fp32 peak per instruction set, for `ingot
 * profile`'s "% of peak" column: measured once by a micro-benchmark
 * (peak.c) and cached in $XDG_CACHE_HOME/ingot/peak.txt (or
 * ~/.cache/ingot/peak.txt).  docs/profile-format.md describes the method. */
#ifndef INGOT_COMPILER_PEAK_H
#define INGOT_COMPILER_PEAK_H

#include <stdbool.h>

#include "ingot/ingot.h"

/* Vector instruction sets, as codegen picks kernel templates (cg_isa). */
typedef enum peak_isa {
  PEAK_SSE = 0,    /* x86-64 baseline: 128-bit mul + add, no FMA */
  PEAK_AVX2 = 1,   /* 256-bit FMA (AVX2 + FMA) */
  PEAK_AVX512 = 2, /* 512-bit FMA (AVX-512 F/BW/DQ/VL) */
} peak_isa;

const char *peak_isa_name(peak_isa isa); /* "sse", "avx2", "avx512" */
/* The set an engine built for |cpu_features| (INGOT_CPU_* bits) uses. */
peak_isa peak_isa_of(unsigned long long cpu_features);

typedef struct peak_result {
  double gflops;      /* fp32 GFLOP/s of |threads| threads together */
  bool cached;        /* read from the cache file, not measured now */
  char cache[1024];   /* the cache file, "" when there is none */
} peak_result;

/* The fp32 peak of |threads| threads running |isa| code at once: from the
 * cache when it has this CPU, ISA and thread count, else measured (about
 * 0.1 s) and added to it.  INCOMPATIBLE when this CPU cannot run |isa|.
 * A cache that cannot be read or written is not an error. */
ingot_status peak_gflops(peak_isa isa, int threads, peak_result *out);
/* peak_gflops without the cache lookup: measures now and appends the
 * result to the cache, where a later line for the same CPU, ISA and
 * thread count overrides an earlier one.  For a cached peak that a
 * measured step exceeds, which can only be stale. */
ingot_status peak_gflops_measure(peak_isa isa, int threads, peak_result *out);

#endif
