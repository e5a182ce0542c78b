/* test_engine_view.c — compiler/engine_view.c and the disassembler of
 * compiler/cmd_disasm.c on good and damaged engines.
 *
 * Builds the sample CNN (argv[1]) into an engine in memory with its LLVM
 * IR kept, then checks: what the view reads (steps, provenance with the
 * folded BatchNormalization, BUILD_INFO, LLVM_IR); step lookup by index,
 * symbol and node name; one DATA_LOSS (or INCOMPATIBLE) message per kind
 * of structural damage, each with a valid checksum so the structure check
 * itself is what fails; a damaged CPU_CODE object for the disassembler;
 * and a bounded mutation run (random bytes, checksum fixed) through the
 * view and the disassembler, which must fail cleanly or succeed, never
 * crash (run it under -DINGOT_SANITIZE=ON).
 */
#include <elf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build.h"
#include "check.h"
#include "crc32c.h"
#include "engine_view.h"
#include "inspect.h"

static uint8_t *dup_bytes(const uint8_t *p, size_t n) {
  uint8_t *q = malloc(n);
  if (q) memcpy(q, p, n);
  return q;
}

static void fix_crc(uint8_t *f, size_t n) {
  uint32_t crc = rt_crc32c(f + INGOT_HEADER_SIZE, n - INGOT_HEADER_SIZE);
  memcpy(f + offsetof(ingot_file_header, checksum), &crc, 4);
}

static ingot_section_entry section_of(const uint8_t *f, uint32_t kind) {
  ingot_file_header h;
  memcpy(&h, f, sizeof h);
  ingot_section_entry s = {0};
  for (uint32_t i = 0; i < h.section_count; i++) {
    memcpy(&s, f + h.section_table_offset + i * sizeof s, sizeof s);
    if (s.kind == kind) return s;
  }
  memset(&s, 0, sizeof s);
  return s;
}

/* Offset of section entry |kind| in the table. */
static size_t entry_at(const uint8_t *f, uint32_t kind) {
  ingot_file_header h;
  memcpy(&h, f, sizeof h);
  for (uint32_t i = 0; i < h.section_count; i++) {
    ingot_section_entry s;
    size_t at = h.section_table_offset + i * sizeof s;
    memcpy(&s, f + at, sizeof s);
    if (s.kind == kind) return at;
  }
  return 0;
}

static void put32(uint8_t *f, size_t at, uint32_t v) { memcpy(f + at, &v, 4); }
static void put64(uint8_t *f, size_t at, uint64_t v) { memcpy(f + at, &v, 8); }

/* Applies |edit| to a copy, fixes the checksum, expects ev_open_buffer to
 * fail with |code| and a message containing |want|. */
static void expect_bad(const uint8_t *eng, size_t n, const char *what,
                       void (*edit)(uint8_t *, size_t), ingot_status_code code,
                       const char *want) {
  uint8_t *f = dup_bytes(eng, n);
  edit(f, n);
  fix_crc(f, n);
  ev_engine e;
  ingot_status s = ev_open_buffer(f, n, "damaged.ingot", &e);
  if (!s || ingot_status_code_of(s) != code ||
      !strstr(ingot_status_message(s), want)) {
    fprintf(stderr, "%s: got %s '%s', want %s containing '%s'\n", what,
            s ? ingot_status_code_name(ingot_status_code_of(s)) : "OK",
            ingot_status_message(s), ingot_status_code_name(code), want);
    check_failures++;
  }
  if (!s) ev_close(&e);
  ingot_status_free(s);
}

static void bad_magic(uint8_t *f, size_t n) { (void)n, f[0] = 'X'; }
static void major_2(uint8_t *f, size_t n) {
  (void)n;
  uint16_t v = 2;
  memcpy(f + offsetof(ingot_file_header, format_major), &v, 2);
}
static void many_sections(uint8_t *f, size_t n) {
  (void)n;
  put32(f, offsetof(ingot_file_header, section_count), 1000);
}
static void section_past_end(uint8_t *f, size_t n) {
  put64(f, entry_at(f, INGOT_SECTION_WEIGHTS) +
               offsetof(ingot_section_entry, size),
        (uint64_t)n);
}
static void two_plans(uint8_t *f, size_t n) {
  (void)n;
  put32(f, entry_at(f, INGOT_SECTION_TENSORS), INGOT_SECTION_PLAN);
}
static void strings_unterminated(uint8_t *f, size_t n) {
  (void)n;
  ingot_section_entry s = section_of(f, INGOT_SECTION_STRINGS);
  f[s.offset + s.size - 1] = 'x';
}
static void step_count_huge(uint8_t *f, size_t n) {
  (void)n;
  put32(f, section_of(f, INGOT_SECTION_PLAN).offset, 0x7fffffff);
}
static void step_string_out(uint8_t *f, size_t n) {
  (void)n;
  put32(f, section_of(f, INGOT_SECTION_PLAN).offset +
               sizeof(ingot_plan_header) + sizeof(ingot_step_desc) +
               offsetof(ingot_step_desc, op),
        0xfffffff0u);
}
static void tensor_count_off(uint8_t *f, size_t n) {
  (void)n;
  put32(f, section_of(f, INGOT_SECTION_TENSORS).offset, 77);
}
static void provenance_short(uint8_t *f, size_t n) {
  (void)n;
  put64(f, entry_at(f, INGOT_SECTION_PROVENANCE) +
               offsetof(ingot_section_entry, size),
        4);
}
static void provenance_out(uint8_t *f, size_t n) {
  (void)n;
  put32(f, section_of(f, INGOT_SECTION_PROVENANCE).offset + 4, 0xffffff00u);
}

/* ELF damage inside CPU_CODE: the view accepts it, the disassembler must
 * refuse it. */
static ingot_status disasm_damaged(const uint8_t *eng, size_t n,
                                   size_t code_off, const void *bytes,
                                   size_t len) {
  uint8_t *f = dup_bytes(eng, n);
  ingot_section_entry c = section_of(f, INGOT_SECTION_CPU_CODE);
  memcpy(f + c.offset + code_off, bytes, len);
  fix_crc(f, n);
  ev_engine e;
  ingot_status s = ev_open_buffer(f, n, "damaged.ingot", &e);
  if (!s) {
    s = inspect_disasm_step(&e, 1, true);
    ev_close(&e);
  }
  return s;
}

static void expect_disasm_bad(const uint8_t *eng, size_t n, const char *what,
                              size_t off, const void *bytes, size_t len,
                              const char *want) {
  ingot_status s = disasm_damaged(eng, n, off, bytes, len);
  if (!s || ingot_status_code_of(s) != INGOT_DATA_LOSS ||
      !strstr(ingot_status_message(s), want)) {
    fprintf(stderr, "%s: got '%s', want DATA_LOSS containing '%s'\n", what,
            ingot_status_message(s), want);
    check_failures++;
  }
  ingot_status_free(s);
}

/* Runs |fn| with stdout sent to /dev/null (disassembly is long). */
static int quiet_begin(void) {
  fflush(stdout);
  int saved = dup(1);
  FILE *null = fopen("/dev/null", "w");
  if (null) {
    dup2(fileno(null), 1);
    fclose(null);
  }
  return saved;
}
static void quiet_end(int saved) {
  fflush(stdout);
  if (saved >= 0) {
    dup2(saved, 1);
    close(saved);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_engine_view CNN.onnx\n");
    return 2;
  }
  ir_graph *g = NULL;
  CHECK_OK(ir_import_onnx_file(argv[1], NULL, &g));
  if (!g) return check_report("test_engine_view");
  cg_build_options bo = {.command_line = "test_engine_view", .embed_ir = true};
  void *bytes = NULL;
  size_t n = 0;
  CHECK_OK(cg_build_engine(g, &bo, &bytes, &n));
  ir_graph_destroy(g);
  if (!bytes) return check_report("test_engine_view");
  const uint8_t *eng = bytes;

  /* What the view reads. */
  ev_engine e;
  CHECK_OK(ev_open_buffer(dup_bytes(eng, n), n, "cnn.ingot", &e));
  CHECK(e.n_steps > 10 && e.n_inputs == 1 && e.n_outputs == 1);
  CHECK(e.header.format_minor >= 1);
  CHECK(e.llvm_ir && e.llvm_ir_size > 0 && e.code && e.code_size > 0);
  CHECK(!strcmp(e.tensors[0].name, "input"));
  uint32_t k = 99;
  CHECK_OK(ev_find_step(&e, "stem.bn", &k));
  /* the Conv step also runs the folded BatchNormalization and the Relu in
   * its epilogue (codegen/plan_fuse.c) */
  CHECK(k < e.n_steps &&
        !strcmp(e.steps[k].provenance, "stem.conv\nstem.bn\nstem.relu"));
  uint32_t k2 = 99;
  CHECK_OK(ev_find_step(&e, e.steps[k].symbol, &k2));
  CHECK(k2 == k);
  char idx[16];
  snprintf(idx, sizeof idx, "%u", k);
  CHECK_OK(ev_find_step(&e, idx, &k2));
  CHECK(k2 == k);
  ingot_status s = ev_find_step(&e, "nosuch", &k2);
  CHECK(s && ingot_status_code_of(s) == INGOT_NOT_FOUND &&
        strstr(ingot_status_message(s), "no step 'nosuch'"));
  ingot_status_free(s);
  snprintf(idx, sizeof idx, "%u", e.n_steps);
  s = ev_find_step(&e, idx, &k2);
  CHECK(s && ingot_status_code_of(s) == INGOT_NOT_FOUND);
  ingot_status_free(s);
  char buf[128];
  CHECK(ev_build_info(&e, "precision", buf, sizeof buf) &&
        !strcmp(buf, "fp32"));
  CHECK(ev_build_info(&e, "arena-naive-bytes", buf, sizeof buf));
  CHECK(!ev_build_info(&e, "no-such-key", buf, sizeof buf));
  CHECK(strstr(e.build_info, "fused: fold-bn BatchNormalization stem.bn\n"));
  int saved = quiet_begin();
  s = inspect_disasm_step(&e, k, true);
  quiet_end(saved);
  CHECK_OK(s);
  ev_close(&e);

  /* Structure damage, checksum valid. */
  expect_bad(eng, n, "bad magic", bad_magic, INGOT_DATA_LOSS, "bad magic");
  expect_bad(eng, n, "major 2", major_2, INGOT_INCOMPATIBLE, "format 2.");
  expect_bad(eng, n, "1000 sections", many_sections, INGOT_DATA_LOSS,
             "section count 1000");
  expect_bad(eng, n, "section past the end", section_past_end,
             INGOT_DATA_LOSS, "(WEIGHTS)");
  expect_bad(eng, n, "two PLANs", two_plans, INGOT_DATA_LOSS,
             "PLAN appears twice");
  expect_bad(eng, n, "STRINGS without NUL", strings_unterminated,
             INGOT_DATA_LOSS, "STRINGS must start and end");
  expect_bad(eng, n, "huge step count", step_count_huge, INGOT_DATA_LOSS,
             "PLAN:");
  expect_bad(eng, n, "step string out of range", step_string_out,
             INGOT_DATA_LOSS, "step 1: string offset");
  expect_bad(eng, n, "tensor count", tensor_count_off, INGOT_DATA_LOSS,
             "TENSORS: count 77");
  expect_bad(eng, n, "short PROVENANCE", provenance_short, INGOT_DATA_LOSS,
             "PROVENANCE is 4 bytes");
  expect_bad(eng, n, "PROVENANCE offset", provenance_out, INGOT_DATA_LOSS,
             "step 1: string offset");
  /* And without fixing the checksum: */
  {
    uint8_t *f = dup_bytes(eng, n);
    f[n / 2] ^= 0x5a;
    s = ev_open_buffer(f, n, "flipped.ingot", &e);
    CHECK(s && strstr(ingot_status_message(s), "checksum mismatch"));
    ingot_status_free(s);
    s = ev_open_buffer(dup_bytes(eng, n - 1), n - 1, "cut.ingot", &e);
    CHECK(s && strstr(ingot_status_message(s), "truncated"));
    ingot_status_free(s);
  }

  /* CPU_CODE damage: the disassembler's own checks. */
  const uint8_t not_elf[4] = {'X', 'E', 'L', 'F'};
  expect_disasm_bad(eng, n, "not ELF", 0, not_elf, 4,
                    "not an x86-64 ELF64 relocatable object");
  uint64_t far = 1ull << 40;
  expect_disasm_bad(eng, n, "section table far away",
                    offsetof(Elf64_Ehdr, e_shoff), &far, 8,
                    "section header table");
  uint16_t shstr = 0xfff0;
  expect_disasm_bad(eng, n, "shstrndx out of range",
                    offsetof(Elf64_Ehdr, e_shstrndx), &shstr, 2,
                    "section header table");

  /* Mutations: random bytes after the header, checksum fixed. */
  unsigned seed = 12345, ok = 0, refused = 0;
  saved = quiet_begin();
  for (int it = 0; it < 1500; it++) {
    uint8_t *f = dup_bytes(eng, n);
    int flips = 1 + (int)(seed % 4);
    for (int j = 0; j < flips; j++) {
      seed = seed * 1103515245u + 12345u;
      size_t at = INGOT_HEADER_SIZE + (seed >> 4) % (n - INGOT_HEADER_SIZE);
      /* Bias towards the tables and the object's headers. */
      if (it % 2) at = INGOT_HEADER_SIZE + (seed >> 4) % 4096;
      if (it % 3 == 0) {
        ingot_section_entry c = section_of(eng, INGOT_SECTION_CPU_CODE);
        at = c.offset + (seed >> 4) % (c.size < 4096 ? c.size : 4096);
        if (it % 9 == 0) at = c.offset + c.size - 1 - (seed >> 4) % 1024;
      }
      seed = seed * 1103515245u + 12345u;
      f[at] = (uint8_t)(seed >> 16);
    }
    fix_crc(f, n);
    s = ev_open_buffer(f, n, "mutant.ingot", &e);
    if (s) {
      refused++;
      ingot_status_free(s);
      continue;
    }
    ok++;
    if (e.n_steps) {
      ingot_status d = inspect_disasm_step(&e, (uint32_t)(seed % e.n_steps),
                                           it % 2);
      ingot_status_free(d);
    }
    ev_close(&e);
  }
  quiet_end(saved);
  printf("mutations: %u opened, %u refused\n", ok, refused);
  CHECK(ok > 0 && refused > 0);
  free(bytes);
  return check_report("test_engine_view");
}
