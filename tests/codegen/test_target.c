/* test_target.c — codegen/target.c: the host target and named CPUs.
 *
 * The feature bits of every named CPU, and of the host, are checked against
 * what clang-19 itself enables for that -march (its predefined macros), so
 * target.c's table cannot drift from LLVM.  argv[1] is the clang to ask.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "check.h"
#include "engine_format.h"

static const struct {
  const char *macro;
  uint64_t bit;
} macros[] = {
    {"__SSE4_2__", INGOT_CPU_SSE42},
    {"__AVX__", INGOT_CPU_AVX},
    {"__AVX2__", INGOT_CPU_AVX2},
    {"__FMA__", INGOT_CPU_FMA},
    {"__F16C__", INGOT_CPU_F16C},
    {"__BMI2__", INGOT_CPU_BMI2},
    {"__AVX512F__", INGOT_CPU_AVX512F},
    {"__AVX512BW__", INGOT_CPU_AVX512BW},
    {"__AVX512DQ__", INGOT_CPU_AVX512DQ},
    {"__AVX512VL__", INGOT_CPU_AVX512VL},
    {"__AVX512VNNI__", INGOT_CPU_AVX512VNNI},
    {"__AVX512BF16__", INGOT_CPU_AVX512BF16},
    {"__AVXVNNI__", INGOT_CPU_AVXVNNI},
    {"__AMX_TILE__", INGOT_CPU_AMX_TILE},
    {"__AMX_INT8__", INGOT_CPU_AMX_INT8},
    {"__AMX_BF16__", INGOT_CPU_AMX_BF16},
    {"__AMX_FP16__", INGOT_CPU_AMX_FP16},
};

/* The INGOT_CPU_* bits clang enables for -march=|march|; -1 on failure. */
static long long clang_bits(const char *clang, const char *march) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "'%s' -march=%s -dM -E -x c /dev/null", clang,
           march);
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  char line[512];
  uint64_t bits = 0;
  while (fgets(line, sizeof line, p)) {
    for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++) {
      size_t n = strlen(macros[i].macro);
      if (!strncmp(line, "#define ", 8) &&
          !strncmp(line + 8, macros[i].macro, n) && line[8 + n] == ' ')
        bits |= macros[i].bit;
    }
  }
  return pclose(p) == 0 ? (long long)bits : -1;
}

static void expect_bits(const char *what, uint64_t got, long long want) {
  CHECK(want >= 0);
  if (want < 0) return;
  if (got != (uint64_t)want) {
    char g[256], w[256];
    fprintf(stderr, "%s: ingot has [%s], clang has [%s]\n", what,
            cg_features_str(got, g, sizeof g),
            cg_features_str((uint64_t)want, w, sizeof w));
  }
  CHECK(got == (uint64_t)want);
}

static const char *isa_name(cg_isa isa) {
  return isa == CG_ISA_AVX512 ? "avx512"
         : isa == CG_ISA_AVX2 ? "avx2"
                              : "generic";
}

int main(int argc, char **argv) {
  const char *clang = argc > 1 ? argv[1] : "clang-19";
  char buf[512];

  /* The build machine. */
  cg_target host;
  CHECK_OK(cg_target_host(&host));
  printf("host: triple %s, cpu %s, isa %s\n  features needed: %s\n",
         host.triple, host.cpu, isa_name(host.isa),
         cg_features_str(host.cpu_features, buf, sizeof buf));
  CHECK(!strcmp(host.triple, "x86_64-unknown-linux-gnu"));
  CHECK(host.features[0] == '+' || host.features[0] == '-');
  CHECK(strlen(host.features) < sizeof host.features);
  /* Sorted, so the same machine always gives the same string. */
  for (const char *p = host.features, *q; (q = strchr(p, ',')); p = q + 1) {
    const char *r = strchr(q + 1, ',');
    size_t a = (size_t)(q - p), b = r ? (size_t)(r - q - 1) : strlen(q + 1);
    CHECK(strncmp(p, q + 1, a < b ? a : b) <= 0);
  }
  if (host.cpu_features & INGOT_CPU_AMX_INT8) {
    CHECK(!strcmp(host.cpu, (host.cpu_features & INGOT_CPU_AMX_FP16)
                                ? "graniterapids"
                                : "sapphirerapids"));
    CHECK(host.isa == CG_ISA_AVX512);
    CHECK(strstr(host.features, "+amx-int8"));
  }
  if (host.isa == CG_ISA_AVX512) CHECK(host.cpu_features & INGOT_CPU_AVX512BW);
  /* clang's -march=native sees the same CPU (AMX permission aside). */
  long long native = clang_bits(clang, "native");
  uint64_t amx = INGOT_CPU_AMX_TILE | INGOT_CPU_AMX_INT8 | INGOT_CPU_AMX_BF16;
  if (native >= 0 && !(host.cpu_features & amx)) native &= ~(long long)amx;
  expect_bits("native", host.cpu_features, native);

  cg_target t;
  CHECK_OK(cg_target_named("native", &t));
  CHECK(!strcmp(t.cpu, host.cpu) && !strcmp(t.features, host.features));

  /* Named CPUs against clang. */
  static const struct {
    const char *name;
    cg_isa isa;
  } named[] = {
      {"x86-64", CG_ISA_GENERIC},        {"x86-64-v2", CG_ISA_GENERIC},
      {"x86-64-v3", CG_ISA_AVX2},        {"x86-64-v4", CG_ISA_AVX512},
      {"haswell", CG_ISA_AVX2},          {"skylake-avx512", CG_ISA_AVX512},
      {"cascadelake", CG_ISA_AVX512},    {"icelake-server", CG_ISA_AVX512},
      {"sapphirerapids", CG_ISA_AVX512}, {"graniterapids", CG_ISA_AVX512},
  };
  for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
    CHECK_OK(cg_target_named(named[i].name, &t));
    CHECK(!strcmp(t.cpu, named[i].name));
    CHECK(t.isa == named[i].isa);
    expect_bits(named[i].name, t.cpu_features,
                clang_bits(clang, named[i].name));
    printf("  %-15s %-7s %s\n", t.cpu, isa_name(t.isa),
           cg_features_str(t.cpu_features, buf, sizeof buf));
  }

  /* Unknown names list the known ones. */
  ingot_status s = cg_target_named("pentium3", &t);
  CHECK(s && ingot_status_code_of(s) == INGOT_INVALID_ARGUMENT);
  CHECK(s && strstr(ingot_status_message(s), "pentium3") &&
        strstr(ingot_status_message(s), "sapphirerapids"));
  ingot_status_free(s);

  /* cg_features_str never overflows. */
  char tiny[8];
  cg_features_str(~0ull, tiny, sizeof tiny);
  CHECK(strlen(tiny) < sizeof tiny);
  CHECK(!strcmp(cg_features_str(0, buf, sizeof buf), "none"));
  return check_report("test_target");
}
