/* test_llvm.c — codegen/llvm.c: templates specialised into step functions.
 *
 *  1. Two k_test_axpy steps with different descriptors (and a memcpy step)
 *     emit one ELF64 x86-64 relocatable object defining exactly the step
 *     symbols; the optimised IR shows the descriptor folded away (its
 *     constants inlined, the global gone).  The object is then loaded by
 *     the runtime's own loader (runtime/elf_loader.c) and run against the
 *     natively compiled template.
 *  2. Target attributes reach generic templates: the same template
 *     vectorises 4, 8 and 16 wide for x86-64, x86-64-v3, sapphirerapids.
 *  3. Determinism: two modules, or two emits of one module, give the same
 *     bytes.
 *  4. Errors: unknown template, bad or duplicate symbols, adding after
 *     emitting, an AMX template for a CPU without AMX, and a libm call
 *     (floorf on plain x86-64) that the runtime would not resolve.
 */
#include <elf.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cg.h"
#include "check.h"
#include "generic/test_kernels.h"
#include "rt.h"

/*===------------------------------------------------------------------===*/
/* Helpers                                                                 */
/*===------------------------------------------------------------------===*/
static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static kbuf arena_buf(int64_t off) {
  return (kbuf){off, KB_ARENA, 0};
}
static kbuf weights_buf(int64_t off) {
  return (kbuf){off, KB_WEIGHTS, 0};
}

static const k_test_axpy_desc desc_a = {
    1000, 4, 2.5f, 0, {0, KB_ARENA, 0}, {4096, KB_ARENA, 0}};
static const k_test_axpy_desc desc_b = {
    37, 1, -0.75f, 0, {0, KB_WEIGHTS, 0}, {8192, KB_ARENA, 0}};
static k_test_copy_desc desc_c(void) {
  k_test_copy_desc d = {12, 100, 3, arena_buf(16384), arena_buf(20480)};
  return d;
}

/* The module of test 1 for |t|: step_a, step_b (axpy), step_c (copy). */
static ingot_status build_axpy(const cg_target *t, cg_module **out) {
  cg_module *m = NULL;
  INGOT_RETURN_IF_ERROR(cg_module_create(t, &m));
  k_test_copy_desc c = desc_c();
  ingot_status s =
      cg_module_add_step(m, "step_a", "k_test_axpy", &desc_a, sizeof desc_a);
  if (!s)
    s = cg_module_add_step(m, "step_b", "k_test_axpy", &desc_b, sizeof desc_b);
  if (!s) s = cg_module_add_step(m, "step_c", "k_test_copy", &c, sizeof c);
  if (s) {
    cg_module_destroy(m);
    return s;
  }
  *out = m;
  return NULL;
}

/* Minimal ELF reading: the object's header and symbol |name|. */
static int elf_header_ok(const uint8_t *o, size_t n) {
  Elf64_Ehdr eh;
  if (n < sizeof eh) return 0;
  memcpy(&eh, o, sizeof eh);
  return !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
         eh.e_ident[EI_CLASS] == ELFCLASS64 &&
         eh.e_ident[EI_DATA] == ELFDATA2LSB && eh.e_type == ET_REL &&
         eh.e_machine == EM_X86_64 && eh.e_shentsize == sizeof(Elf64_Shdr) &&
         eh.e_shoff + (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr) <= n;
}

typedef struct sym_counts {
  int defined_global_funcs; /* STB_GLOBAL, STT_FUNC, defined */
  int undefined;
  int found_defined;   /* |want| defined as a global function */
  int found_undefined; /* |want| undefined */
  int bad_undefined;   /* undefined other than memcpy/memset/memmove */
} sym_counts;

static sym_counts elf_symbols(const uint8_t *o, size_t n, const char *want) {
  sym_counts c = {0};
  Elf64_Ehdr eh;
  memcpy(&eh, o, sizeof eh);
  for (unsigned i = 0; i < eh.e_shnum; i++) {
    Elf64_Shdr sh, st;
    memcpy(&sh, o + eh.e_shoff + i * sizeof sh, sizeof sh);
    if (sh.sh_type != SHT_SYMTAB) continue;
    memcpy(&st, o + eh.e_shoff + sh.sh_link * sizeof st, sizeof st);
    for (uint64_t k = 1; k < sh.sh_size / sizeof(Elf64_Sym); k++) {
      Elf64_Sym s;
      memcpy(&s, o + sh.sh_offset + k * sizeof s, sizeof s);
      const char *name = (const char *)o + st.sh_offset + s.st_name;
      int match = want && !strcmp(name, want);
      if (s.st_shndx == SHN_UNDEF) {
        if (!s.st_name) continue;
        c.undefined++;
        c.found_undefined |= match;
        c.bad_undefined += strcmp(name, "memcpy") && strcmp(name, "memset") &&
                           strcmp(name, "memmove");
      } else if (ELF64_ST_BIND(s.st_info) == STB_GLOBAL &&
                 ELF64_ST_TYPE(s.st_info) == STT_FUNC) {
        c.defined_global_funcs++;
        c.found_defined |= match;
      }
    }
  }
  return c;
}

/*===------------------------------------------------------------------===*/
/* 1. specialise, emit, inspect, run                                       */
/*===------------------------------------------------------------------===*/
static void test_axpy(const cg_target *host) {
  cg_module *m = NULL;
  double t0 = now_ms();
  CHECK_OK(build_axpy(host, &m));
  if (!m) return;
  double t1 = now_ms();
  void *obj = NULL;
  size_t size = 0;
  CHECK_OK(cg_module_emit(m, &obj, &size));
  double t2 = now_ms();
  printf("module: create+add %.1f ms, O3+emit %.1f ms, object %zu bytes\n",
         t1 - t0, t2 - t1, size);

  char *ir = NULL;
  CHECK_OK(cg_module_print_ir(m, &ir));
  if (ir) {
    if (getenv("INGOT_TEST_DUMP_IR")) fputs(ir, stdout);
    CHECK(strstr(ir, "define void @step_a("));
    CHECK(strstr(ir, "define void @step_b("));
    CHECK(strstr(ir, "define void @step_c("));
    /* Specialised: the template is inlined and gone, so is every
     * descriptor global; its constants are in the code. */
    CHECK(!strstr(ir, "@k_test_"));
    CHECK(!strstr(ir, ".desc"));
    CHECK(strstr(ir, "2.500000e+00"));
    CHECK(strstr(ir, "7.500000e-01")); /* y - 0.75 x, as LLVM puts it */
    CHECK(strstr(ir, "@memcpy") || strstr(ir, "@llvm.memcpy"));
    if (host->isa != CG_ISA_GENERIC)
      CHECK(strstr(ir, "<8 x float>") || strstr(ir, "<16 x float>"));
    free(ir);
  }
  cg_module_destroy(m);
  if (!obj) return;

  CHECK(elf_header_ok(obj, size));
  if (elf_header_ok(obj, size)) {
    sym_counts a = elf_symbols(obj, size, "step_a");
    sym_counts b = elf_symbols(obj, size, "step_b");
    sym_counts c = elf_symbols(obj, size, "step_c");
    CHECK(a.found_defined && b.found_defined && c.found_defined);
    CHECK(a.defined_global_funcs == 3); /* templates are not exported */
    CHECK(a.bad_undefined == 0);
    CHECK(elf_symbols(obj, size, "k_test_axpy").found_defined == 0);
  }

  /* Run it and compare with the natively compiled template. */
  rt_elf_image img;
  ingot_status ls = rt_elf_load(obj, size, "test object", &img);
  int loaded = ls == NULL;
  CHECK_OK(ls);
  rt_step_fn fn[3] = {0};
  if (loaded) {
    fn[0] = (rt_step_fn)rt_elf_find(&img, "step_a");
    fn[1] = (rt_step_fn)rt_elf_find(&img, "step_b");
    fn[2] = (rt_step_fn)rt_elf_find(&img, "step_c");
    CHECK(fn[0] && fn[1] && fn[2]);
  }
  if (fn[0] && fn[1] && fn[2]) {
    enum { ARENA = 32768, WEIGHTS = 4096 };
    uint8_t *arena = aligned_alloc(64, ARENA), *ref = aligned_alloc(64, ARENA);
    uint8_t *weights = aligned_alloc(64, WEIGHTS);
    for (int i = 0; i < ARENA / 4; i++)
      ((float *)arena)[i] = (float)((i * 37) % 101) * 0.125f - 3.0f;
    for (int i = 0; i < WEIGHTS / 4; i++)
      ((float *)weights)[i] = (float)((i * 13) % 17) - 8.5f;
    memcpy(ref, arena, ARENA);

    fn[0](arena, weights, 0, 2); /* the tasks of step_a in two calls */
    fn[0](arena, weights, 2, 4);
    fn[1](arena, weights, 0, 1);
    fn[2](arena, weights, 0, 3);
    k_test_axpy(&desc_a, ref, weights, 0, 4);
    k_test_axpy(&desc_b, ref, weights, 0, 1);
    k_test_copy_desc c = desc_c();
    k_test_copy(&c, ref, weights, 0, 3);
    CHECK(memcmp(arena, ref, ARENA) == 0);
    /* And against the formula itself. */
    int i = 8192 / 4 + 5;
    float x = ((float *)weights)[5];
    float y0 = (float)((i * 37) % 101) * 0.125f - 3.0f;
    float ax = -0.75f * x;
    CHECK(((float *)arena)[i] == ax + y0);
    free(arena);
    free(ref);
    free(weights);
  }
  rt_elf_unload(&img);
  free(obj);
}

/*===------------------------------------------------------------------===*/
/* 2. the target's features reach generic templates                        */
/*===------------------------------------------------------------------===*/
static void test_vector_width(const char *cpu, const char *want,
                              const char *unwanted) {
  cg_target t;
  cg_module *m = NULL;
  CHECK_OK(cg_target_named(cpu, &t));
  CHECK_OK(cg_module_create(&t, &m));
  if (!m) return;
  CHECK_OK(cg_module_add_step(m, "s", "k_test_axpy", &desc_a, sizeof desc_a));
  char *ir = NULL;
  CHECK_OK(cg_module_print_ir(m, &ir));
  if (ir) {
    if (!strstr(ir, want) || (unwanted && strstr(ir, unwanted)))
      fprintf(stderr, "%s: expected %s%s%s in the IR\n", cpu, want,
              unwanted ? " and no " : "", unwanted ? unwanted : "");
    CHECK(strstr(ir, want));
    if (unwanted) CHECK(!strstr(ir, unwanted));
    free(ir);
  }
  void *obj = NULL;
  size_t size = 0;
  CHECK_OK(cg_module_emit(m, &obj, &size));
  CHECK(obj && elf_header_ok(obj, size));
  free(obj);
  cg_module_destroy(m);
}

/*===------------------------------------------------------------------===*/
/* 3. determinism                                                           */
/*===------------------------------------------------------------------===*/
static void test_determinism(const cg_target *host) {
  cg_module *m1 = NULL, *m2 = NULL;
  CHECK_OK(build_axpy(host, &m1));
  CHECK_OK(build_axpy(host, &m2));
  if (!m1 || !m2) {
    cg_module_destroy(m1);
    cg_module_destroy(m2);
    return;
  }
  void *o1 = NULL, *o2 = NULL, *o3 = NULL;
  size_t n1 = 0, n2 = 0, n3 = 0;
  CHECK_OK(cg_module_emit(m1, &o1, &n1));
  CHECK_OK(cg_module_emit(m2, &o2, &n2));
  CHECK_OK(cg_module_emit(m1, &o3, &n3)); /* again, same module */
  CHECK(n1 && n1 == n2 && n1 == n3);
  CHECK(o1 && o2 && o3 && !memcmp(o1, o2, n1) && !memcmp(o1, o3, n1));
  free(o1);
  free(o2);
  free(o3);
  cg_module_destroy(m1);
  cg_module_destroy(m2);
}

/*===------------------------------------------------------------------===*/
/* 4. errors                                                                */
/*===------------------------------------------------------------------===*/
static void expect(ingot_status s, ingot_status_code code, const char *needle) {
  CHECK(s != NULL);
  if (!s) return;
  const char *msg = ingot_status_message(s);
  if (ingot_status_code_of(s) != code || !strstr(msg, needle))
    fprintf(stderr, "unexpected status %s: %s (wanted %s, '%s')\n",
            ingot_status_code_name(ingot_status_code_of(s)), msg,
            ingot_status_code_name(code), needle);
  CHECK(ingot_status_code_of(s) == code);
  CHECK(strstr(msg, needle));
  ingot_status_free(s);
}

static void test_errors(const cg_target *host) {
  cg_module *m = NULL;
  CHECK_OK(cg_module_create(host, &m));
  if (!m) return;
  expect(cg_module_add_step(m, "s0", "k_nope", &desc_a, sizeof desc_a),
         INGOT_NOT_FOUND, "k_nope");
  expect(cg_module_add_step(m, "1x", "k_test_axpy", &desc_a, sizeof desc_a),
         INGOT_INVALID_ARGUMENT, "1x");
  expect(cg_module_add_step(m, "k_test_copy", "k_test_axpy", &desc_a,
                            sizeof desc_a),
         INGOT_INVALID_ARGUMENT, "k_test_copy");
  expect(cg_module_add_step(m, "s0", "k_test_axpy", NULL, 8),
         INGOT_INVALID_ARGUMENT, "missing");
  CHECK_OK(cg_module_add_step(m, "s0", "k_test_axpy", &desc_a, sizeof desc_a));
  expect(cg_module_add_step(m, "s0", "k_test_axpy", &desc_b, sizeof desc_b),
         INGOT_INVALID_ARGUMENT, "twice");
  void *obj = NULL;
  size_t size = 0;
  CHECK_OK(cg_module_emit(m, &obj, &size));
  free(obj);
  expect(cg_module_add_step(m, "s1", "k_test_axpy", &desc_a, sizeof desc_a),
         INGOT_FAILED_PRECONDITION, "already emitted");
  cg_module_destroy(m);

  /* An empty module still gives a valid object. */
  CHECK_OK(cg_module_create(host, &m));
  if (m) {
    CHECK_OK(cg_module_emit(m, &obj, &size));
    CHECK(obj && elf_header_ok(obj, size));
    free(obj);
    cg_module_destroy(m);
  }

  /* AMX intrinsics on a CPU without AMX: refused, not a crash in LLVM. */
  k_test_amx_desc amx = {arena_buf(0)};
  cg_target t;
  CHECK_OK(cg_target_named("haswell", &t));
  CHECK_OK(cg_module_create(&t, &m));
  if (m) {
    expect(cg_module_add_step(m, "s", "k_test_amx", &amx, sizeof amx),
           INGOT_INCOMPATIBLE, "AMX");
    cg_module_destroy(m);
  }
  CHECK_OK(cg_target_named("sapphirerapids", &t));
  CHECK_OK(cg_module_create(&t, &m));
  if (m) {
    CHECK_OK(cg_module_add_step(m, "s", "k_test_amx", &amx, sizeof amx));
    CHECK_OK(cg_module_emit(m, &obj, &size));
    free(obj);
    cg_module_destroy(m);
  }

  /* floorf: an instruction from SSE4.1 on, a libm call before. */
  k_test_floor_desc fl = {64, arena_buf(0), weights_buf(0)};
  fl.y = arena_buf(256);
  CHECK_OK(cg_target_named("x86-64", &t));
  CHECK_OK(cg_module_create(&t, &m));
  if (m) {
    CHECK_OK(cg_module_add_step(m, "s", "k_test_floor", &fl, sizeof fl));
    obj = NULL;
    expect(cg_module_emit(m, &obj, &size), INGOT_UNIMPLEMENTED, "floorf");
    CHECK(obj == NULL);
    cg_module_destroy(m);
  }
  CHECK_OK(cg_target_named("x86-64-v2", &t));
  CHECK_OK(cg_module_create(&t, &m));
  if (m) {
    CHECK_OK(cg_module_add_step(m, "s", "k_test_floor", &fl, sizeof fl));
    CHECK_OK(cg_module_emit(m, &obj, &size));
    free(obj);
    cg_module_destroy(m);
  }

  /* A broken target, and one LLVM was not built for here. */
  memset(&t, 0, sizeof t);
  m = NULL;
  expect(cg_module_create(&t, &m), INGOT_INVALID_ARGUMENT, "target");
  CHECK(m == NULL);
  t = *host;
  snprintf(t.triple, sizeof t.triple, "riscv64-unknown-linux-gnu");
  expect(cg_module_create(&t, &m), INGOT_INVALID_ARGUMENT, "riscv64");
  CHECK(m == NULL);
}

int main(void) {
  cg_target host;
  ingot_status s = cg_target_host(&host);
  if (s) {
    fprintf(stderr, "no host target: %s\n", ingot_status_message(s));
    ingot_status_free(s);
    return 1;
  }
  printf("host: %s (%s)\n", host.cpu,
         host.isa == CG_ISA_AVX512 ? "avx512"
         : host.isa == CG_ISA_AVX2 ? "avx2"
                                   : "generic");
  test_axpy(&host);
  test_vector_width("x86-64", "<4 x float>", "<8 x float>");
  test_vector_width("x86-64-v3", "<8 x float>", "<16 x float>");
  test_vector_width("sapphirerapids", "<16 x float>", NULL);
  test_determinism(&host);
  test_errors(&host);
  return check_report("test_llvm");
}
