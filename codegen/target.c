/* target.c — which x86-64 CPU an engine is built for.
 *
 * A cg_target is what LLVM needs to generate code (triple, CPU name,
 * feature string) plus what Ingot needs to pick templates and to refuse an
 * engine on a CPU that cannot run it (cg_isa, INGOT_CPU_* bits).
 *
 * "native" asks LLVM for the host's features (LLVMGetHostCPUFeatures reads
 * CPUID and XCR0, so a feature whose register state the OS does not save is
 * already absent).  LLVM's host CPU *name* can be wrong on virtual machines
 * (KERNEL-NOTES.md: a Sapphire Rapids guest reported as "rocketlake"), so
 * the name is derived from the features, and the feature list is passed
 * explicitly — sorted, so the same host always gives the same string and
 * the same code.  AMX also needs the kernel's permission per process
 * (arch_prctl ARCH_REQ_XCOMP_PERM); without it the AMX features are turned
 * off rather than claimed.
 *
 * Named CPUs come from a table: LLVM's C API cannot list a CPU's features,
 * and the table only needs the bits Ingot records (engine_format.h) and the
 * template family.  tests/codegen/test_target.c checks the table against
 * clang's predefined macros for each -march, so it cannot drift from LLVM.
 *
 * cpu_features records every INGOT_CPU_* feature the target enables: LLVM
 * may use any enabled feature anywhere in generated code, so that is what
 * the engine needs.
 */
#define _GNU_SOURCE /* syscall(SYS_arch_prctl) */
#include "cg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "engine_format.h"

#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define CG_TRIPLE "x86_64-unknown-linux-gnu"

/* LLVM feature name -> Ingot bit.  ORDER: cg_features_str prints in this
 * order. */
static const struct {
  const char *llvm;
  uint64_t bit;
} feature_map[] = {
    {"sse4.2", INGOT_CPU_SSE42},
    {"avx", INGOT_CPU_AVX},
    {"avx2", INGOT_CPU_AVX2},
    {"fma", INGOT_CPU_FMA},
    {"f16c", INGOT_CPU_F16C},
    {"bmi2", INGOT_CPU_BMI2},
    {"avx512f", INGOT_CPU_AVX512F},
    {"avx512bw", INGOT_CPU_AVX512BW},
    {"avx512dq", INGOT_CPU_AVX512DQ},
    {"avx512vl", INGOT_CPU_AVX512VL},
    {"avx512vnni", INGOT_CPU_AVX512VNNI},
    {"avx512bf16", INGOT_CPU_AVX512BF16},
    {"avxvnni", INGOT_CPU_AVXVNNI},
    {"amx-tile", INGOT_CPU_AMX_TILE},
    {"amx-int8", INGOT_CPU_AMX_INT8},
    {"amx-bf16", INGOT_CPU_AMX_BF16},
    {"amx-fp16", INGOT_CPU_AMX_FP16},
};
#define N_FEATURES (sizeof feature_map / sizeof feature_map[0])

enum {
  F_V2 = INGOT_CPU_SSE42,
  F_V3 = F_V2 | INGOT_CPU_AVX | INGOT_CPU_AVX2 | INGOT_CPU_FMA |
         INGOT_CPU_F16C | INGOT_CPU_BMI2,
  F_V4 = F_V3 | INGOT_CPU_AVX512F | INGOT_CPU_AVX512BW | INGOT_CPU_AVX512DQ |
         INGOT_CPU_AVX512VL,
  F_CLX = F_V4 | INGOT_CPU_AVX512VNNI,
  F_SPR = F_CLX | INGOT_CPU_AVX512BF16 | INGOT_CPU_AVXVNNI |
          INGOT_CPU_AMX_TILE | INGOT_CPU_AMX_INT8 | INGOT_CPU_AMX_BF16,
  F_GNR = F_SPR | INGOT_CPU_AMX_FP16,
  F_AMX = INGOT_CPU_AMX_TILE | INGOT_CPU_AMX_INT8 | INGOT_CPU_AMX_BF16 |
          INGOT_CPU_AMX_FP16,
};

/* Named CPUs: LLVM derives the features from the name; the bits are what
 * that name enables among Ingot's. */
static const struct {
  const char *name;
  uint64_t bits;
} named_cpus[] = {
    {"x86-64", 0},
    {"x86-64-v2", F_V2},
    {"x86-64-v3", F_V3},
    {"x86-64-v4", F_V4},
    {"haswell", F_V3},
    {"skylake-avx512", F_V4},
    {"cascadelake", F_CLX},
    {"icelake-server", F_CLX},
    {"sapphirerapids", F_SPR},
    {"graniterapids", F_GNR},
};
#define N_NAMED (sizeof named_cpus / sizeof named_cpus[0])

static cg_isa isa_of(uint64_t bits) {
  uint64_t avx512 = INGOT_CPU_AVX512F | INGOT_CPU_AVX512BW |
                    INGOT_CPU_AVX512DQ | INGOT_CPU_AVX512VL;
  uint64_t avx2 = INGOT_CPU_AVX2 | INGOT_CPU_FMA;
  if ((bits & avx512) == avx512) return CG_ISA_AVX512;
  if ((bits & avx2) == avx2) return CG_ISA_AVX2;
  return CG_ISA_GENERIC;
}

const char *cg_features_str(uint64_t cpu_features, char *buf, size_t n) {
  size_t len = 0;
  if (!buf || n == 0) return buf;
  buf[0] = '\0';
  for (size_t i = 0; i < N_FEATURES; i++) {
    if (!(cpu_features & feature_map[i].bit)) continue;
    int w = snprintf(buf + len, n - len, "%s%s", len ? " " : "",
                     feature_map[i].llvm);
    if (w < 0 || (size_t)w >= n - len) break; /* truncated, still NUL-ended */
    len += (size_t)w;
  }
  if (len == 0) snprintf(buf, n, "none");
  return buf;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Whether this process may use AMX tile data (Linux asks per process). */
static int amx_permitted(void) {
#if defined(__x86_64__) && defined(__linux__)
  return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */,
                 18 /* XFEATURE_XTILEDATA */) == 0;
#else
  return 0;
#endif
}

/* Splits LLVM's "+a,-b,..." into sorted tokens, sets |*bits| from the
 * enabled ones (turning AMX off when the OS refuses it) and writes the
 * sorted list into out->features. */
static ingot_status host_features(const char *list, cg_target *out) {
  size_t n = 1;
  for (const char *p = list; *p; p++) n += *p == ',';
  char *copy = strdup(list);
  char **tok = calloc(n, sizeof *tok);
  ingot_status s = NULL;
  if (!copy || !tok) {
    s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                          "host features: out of memory");
    goto done;
  }
  size_t nt = 0;
  for (char *save = NULL, *t = strtok_r(copy, ",", &save); t;
       t = strtok_r(NULL, ",", &save))
    if ((t[0] == '+' || t[0] == '-') && t[1]) tok[nt++] = t;
  qsort(tok, nt, sizeof *tok, cmp_str);

  uint64_t bits = 0;
  for (size_t i = 0; i < nt; i++) {
    if (tok[i][0] != '+') continue;
    for (size_t f = 0; f < N_FEATURES; f++)
      if (!strcmp(tok[i] + 1, feature_map[f].llvm)) bits |= feature_map[f].bit;
  }
  if ((bits & F_AMX) && !amx_permitted()) {
    bits &= ~(uint64_t)F_AMX;
    for (size_t i = 0; i < nt; i++)
      if (!strncmp(tok[i] + 1, "amx-", 4)) tok[i][0] = '-';
  }

  size_t len = 0;
  for (size_t i = 0; i < nt; i++) {
    size_t tl = strlen(tok[i]);
    if (len + tl + 2 > sizeof out->features) {
      s = ingot_make_status(INGOT_INTERNAL,
                            "host feature list longer than %zu bytes",
                            sizeof out->features - 1);
      goto done;
    }
    if (len) out->features[len++] = ',';
    memcpy(out->features + len, tok[i], tl);
    len += tl;
  }
  out->features[len] = '\0';
  out->cpu_features = bits;
done:
  free(tok);
  free(copy);
  return s;
}

/* The CPU name for a feature set (tuning and the engine's record; the
 * explicit feature list decides what code may use). */
static const char *cpu_name_for(uint64_t bits, const char *features) {
  if ((bits & (INGOT_CPU_AMX_TILE | INGOT_CPU_AMX_INT8)) ==
      (INGOT_CPU_AMX_TILE | INGOT_CPU_AMX_INT8))
    return (bits & INGOT_CPU_AMX_FP16) ? "graniterapids" : "sapphirerapids";
  if ((bits & F_CLX) == F_CLX)
    return strstr(features, "+avx512vbmi2") ? "icelake-server" : "cascadelake";
  if ((bits & F_V4) == F_V4) return "skylake-avx512";
  if ((bits & (INGOT_CPU_AVX2 | INGOT_CPU_FMA)) ==
      (INGOT_CPU_AVX2 | INGOT_CPU_FMA))
    return "haswell";
  return "x86-64";
}

ingot_status cg_target_host(cg_target *out) {
  if (!out)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "cg_target_host: no output");
  memset(out, 0, sizeof *out);
#if !defined(__x86_64__)
  return ingot_make_status(INGOT_UNIMPLEMENTED,
                           "--mcpu native: the build machine is not x86-64; "
                           "name an x86-64 CPU instead");
#else
  char *list = LLVMGetHostCPUFeatures();
  if (!list || !*list) {
    LLVMDisposeMessage(list);
    return ingot_make_status(INGOT_UNIMPLEMENTED,
                             "--mcpu native: LLVM cannot read this CPU's "
                             "features; name a CPU instead");
  }
  ingot_status s = host_features(list, out);
  LLVMDisposeMessage(list);
  if (s) return s;
  snprintf(out->triple, sizeof out->triple, "%s", CG_TRIPLE);
  snprintf(out->cpu, sizeof out->cpu, "%s",
           cpu_name_for(out->cpu_features, out->features));
  out->isa = isa_of(out->cpu_features);
  return NULL;
#endif
}

ingot_status cg_target_named(const char *mcpu, cg_target *out) {
  if (!out)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "cg_target_named: no output");
  memset(out, 0, sizeof *out);
  if (!mcpu || !*mcpu || !strcmp(mcpu, "native")) return cg_target_host(out);
  for (size_t i = 0; i < N_NAMED; i++) {
    if (strcmp(mcpu, named_cpus[i].name)) continue;
    snprintf(out->triple, sizeof out->triple, "%s", CG_TRIPLE);
    snprintf(out->cpu, sizeof out->cpu, "%s", named_cpus[i].name);
    out->features[0] = '\0'; /* LLVM derives them from the name */
    out->cpu_features = named_cpus[i].bits;
    out->isa = isa_of(out->cpu_features);
    return NULL;
  }
  char known[512];
  size_t len = 0;
  known[0] = '\0';
  for (size_t i = 0; i < N_NAMED && len < sizeof known; i++) {
    int w = snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "",
                     named_cpus[i].name);
    if (w < 0) break;
    len += (size_t)w;
  }
  return ingot_make_status(INGOT_INVALID_ARGUMENT,
                           "--mcpu %s: unknown CPU (known: native, %s)", mcpu,
                           known);
}
