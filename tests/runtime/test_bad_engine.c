/* test_bad_engine.c — engine files that are wrong in every way the issue
 * lists, and API misuse: each must give a clear ingot_status (code and a
 * message naming the field), never a crash; run under ASan + UBSan.
 *
 * Usage: test_bad_engine TMPDIR OBJECT   (OBJECT: steps.c compiled -fPIC)
 * The specific cases print their message, so the log shows what a user
 * would read.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "crc32c.h"
#include "engine_format.h"
#include "fixture.h"
#include "ingot/ingot.h"
#include "rt.h"

static const char *tmpdir;
static uint8_t *V; /* a valid FULL engine */
static size_t VN;
static ingot_section_entry SEC[8]; /* its sections, in writer order */
enum { S_STRINGS, S_TENSORS, S_PLAN, S_PROV, S_WEIGHTS, S_CODE, S_BUILD,
       S_MAP };

static void fix_crc(uint8_t *b, size_t n) {
  uint32_t c = rt_crc32c(b + INGOT_HEADER_SIZE, n - INGOT_HEADER_SIZE);
  memcpy(b + offsetof(ingot_file_header, checksum), &c, 4);
}

static uint8_t *dup(void) {
  uint8_t *b = malloc(VN);
  memcpy(b, V, VN);
  return b;
}

static void put32(uint8_t *b, uint64_t off, uint32_t v) { memcpy(b + off, &v, 4); }
static void put64(uint8_t *b, uint64_t off, uint64_t v) { memcpy(b + off, &v, 8); }

/* Loads |b|; returns the status code (the engine, if any, is released). */
static ingot_status_code try_load(const uint8_t *b, size_t n, char *msg,
                                  size_t msg_size) {
  ingot_engine *e = NULL;
  ingot_status s = ingot_engine_load_memory(b, n, &e);
  ingot_status_code c = ingot_status_code_of(s);
  if (msg) snprintf(msg, msg_size, "%s", ingot_status_message(s));
  if (s) {
    CHECK(e == NULL);
    CHECK(strlen(ingot_status_message(s)) > 10);
  }
  ingot_status_free(s);
  ingot_engine_release(e);
  return c;
}

/* One named case: |b| (freed here) must fail with |code| and a message
 * containing |needle|. */
static void expect(const char *what, uint8_t *b, size_t n,
                   ingot_status_code code, const char *needle) {
  char msg[1024];
  ingot_status_code c = try_load(b, n, msg, sizeof msg);
  int good = c == code && (!needle || strstr(msg, needle));
  printf("%-34s %-18s %s\n", what, ingot_status_code_name(c), msg);
  if (!good) {
    fprintf(stderr, "  expected %s containing '%s'\n",
            ingot_status_code_name(code), needle ? needle : "");
    check_failures++;
  }
  free(b);
}

/* Patches |b| (a copy of V) and fixes its checksum, then expects. */
#define CASE(what, code, needle, ...) \
  do {                                \
    uint8_t *b = dup();               \
    __VA_ARGS__;                      \
    fix_crc(b, VN);                   \
    expect(what, b, VN, code, needle); \
  } while (0)

static uint64_t tensor_off(int i, size_t field) {
  return SEC[S_TENSORS].offset + sizeof(ingot_tensors_header) +
         (uint64_t)i * sizeof(ingot_tensor_desc) + field;
}

static uint64_t step_off(int i, size_t field) {
  return SEC[S_PLAN].offset + sizeof(ingot_plan_header) +
         (uint64_t)i * sizeof(ingot_step_desc) + field;
}

static uint64_t sec_off(int i, size_t field) {
  return INGOT_HEADER_SIZE + (uint64_t)i * sizeof(ingot_section_entry) + field;
}

/* Offset of the string |s| in STRINGS. */
static uint32_t string_offset(const char *s) {
  const char *p = (const char *)V + SEC[S_STRINGS].offset;
  for (uint64_t i = 0; i < SEC[S_STRINGS].size; i += strlen(p + i) + 1)
    if (strcmp(p + i, s) == 0) return (uint32_t)i;
  return 0;
}

static void test_truncation(void) {
  /* every section boundary, and around it */
  uint64_t cuts[64];
  int n = 0;
  cuts[n++] = 0;
  cuts[n++] = 8;
  cuts[n++] = INGOT_HEADER_SIZE - 1;
  cuts[n++] = INGOT_HEADER_SIZE;
  cuts[n++] = INGOT_HEADER_SIZE + 7 * sizeof(ingot_section_entry);
  for (int i = 0; i < 7; i++) {
    cuts[n++] = SEC[i].offset;
    cuts[n++] = SEC[i].offset + 1;
    cuts[n++] = SEC[i].offset + SEC[i].size / 2;
    cuts[n++] = SEC[i].offset + SEC[i].size - (SEC[i].size > 0);
  }
  cuts[n++] = VN - 1;
  int bad = 0;
  for (int i = 0; i < n; i++) {
    if (cuts[i] >= VN) continue;
    /* as is: the size no longer matches the header */
    bad += try_load(V, cuts[i], NULL, 0) != INGOT_DATA_LOSS;
    /* consistent: header and checksum say the cut size */
    if (cuts[i] >= INGOT_HEADER_SIZE) {
      uint8_t *b = dup();
      put64(b, offsetof(ingot_file_header, file_size), cuts[i]);
      fix_crc(b, cuts[i]);
      char msg[512];
      ingot_status_code c = try_load(b, cuts[i], msg, sizeof msg);
      if (c != INGOT_DATA_LOSS) {
        fprintf(stderr, "cut at %llu (consistent): %s %s\n",
                (unsigned long long)cuts[i], ingot_status_code_name(c), msg);
        bad++;
      }
      free(b);
    }
  }
  /* and many other lengths */
  for (size_t len = 0; len < VN; len += len < 1100 ? 1 : 37)
    bad += try_load(V, len, NULL, 0) != INGOT_DATA_LOSS;
  CHECK(bad == 0);

  char msg[512];
  try_load(V, SEC[S_PLAN].offset, msg, sizeof msg);
  printf("%-34s %s\n", "truncated at PLAN", msg);
  CHECK(strstr(msg, "truncated") != NULL);

  /* the same through files: load_file and check_file */
  char path[512];
  snprintf(path, sizeof path, "%s/truncated.ingot", tmpdir);
  CHECK(write_file(path, V, SEC[S_CODE].offset + 5) == 0);
  ingot_engine *e = NULL;
  ingot_status s = ingot_engine_load_file(path, &e);
  CHECK(ingot_status_code_of(s) == INGOT_DATA_LOSS && e == NULL);
  CHECK(s && strstr(ingot_status_message(s), path));
  ingot_status_free(s);
  s = ingot_engine_check_file(path);
  CHECK(ingot_status_code_of(s) == INGOT_DATA_LOSS);
  ingot_status_free(s);
  CHECK(write_file(path, V, 100) == 0);
  s = ingot_engine_check_file(path);
  CHECK(ingot_status_code_of(s) == INGOT_DATA_LOSS);
  CHECK(s && strstr(ingot_status_message(s), "shorter than"));
  ingot_status_free(s);
}

static void test_bit_flips(void) {
  /* any flip after the header breaks the checksum */
  int bad = 0;
  uint8_t *b = dup();
  for (size_t i = INGOT_HEADER_SIZE; i < VN; i++) {
    b[i] ^= (uint8_t)(1u << (i % 8));
    char msg[256];
    ingot_status_code c = try_load(b, VN, msg, sizeof msg);
    if (c != INGOT_DATA_LOSS || !strstr(msg, "checksum")) bad++;
    b[i] = V[i];
  }
  CHECK(bad == 0);
  /* header flips are validated field by field: any outcome but a crash */
  int refused = 0, total = 0;
  for (size_t i = 0; i < INGOT_HEADER_SIZE; i++)
    for (int bit = 0; bit < 8; bit++) {
      b[i] ^= (uint8_t)(1u << bit);
      refused += try_load(b, VN, NULL, 0) != INGOT_OK;
      total++;
      b[i] = V[i];
    }
  printf("header bit flips: %d of %d refused\n", refused, total);
  CHECK(refused > total / 4);
  /* flips past a recomputed checksum reach the section checks and the ELF
   * loader: they may load or fail, but never crash */
  refused = total = 0;
  for (size_t i = INGOT_HEADER_SIZE; i < VN; i++) {
    b[i] ^= (uint8_t)(1u << ((i * 7) % 8));
    fix_crc(b, VN);
    refused += try_load(b, VN, NULL, 0) != INGOT_OK;
    total++;
    b[i] = V[i];
  }
  /* and a few thousand multi-byte corruptions */
  uint64_t rng = 0x9e3779b97f4a7c15ull;
  for (int k = 0; k < 3000; k++) {
    memcpy(b, V, VN);
    for (int j = 0; j < 4; j++) {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      size_t at = INGOT_HEADER_SIZE + (size_t)(rng >> 33) % (VN - INGOT_HEADER_SIZE);
      b[at] = (uint8_t)(rng >> 20);
    }
    fix_crc(b, VN);
    refused += try_load(b, VN, NULL, 0) != INGOT_OK;
    total++;
  }
  printf("corruptions behind a valid checksum: %d of %d refused\n", refused,
         total);
  free(b);
}

static void test_header(void) {
  CASE("bad magic", INGOT_DATA_LOSS, "magic", b[0] = 'X');
  CASE("format major 2", INGOT_INCOMPATIBLE, "format 2",
       put32(b, offsetof(ingot_file_header, format_major), 2));
  CASE("header size 128", INGOT_DATA_LOSS, "header size",
       put32(b, offsetof(ingot_file_header, header_size), 128));
  CASE("file size too large", INGOT_DATA_LOSS, "truncated",
       put64(b, offsetof(ingot_file_header, file_size), VN + 64));
  CASE("unknown flags", INGOT_INCOMPATIBLE, "flags",
       put32(b, offsetof(ingot_file_header, flags), 4));
  CASE("section count 0", INGOT_DATA_LOSS, "section count",
       put32(b, offsetof(ingot_file_header, section_count), 0));
  CASE("section count 100000", INGOT_DATA_LOSS, "section count",
       put32(b, offsetof(ingot_file_header, section_count), 100000));
  CASE("section table at 0", INGOT_DATA_LOSS, "section table",
       put64(b, offsetof(ingot_file_header, section_table_offset), 0));
  CASE("section table misaligned", INGOT_DATA_LOSS, "section table",
       put64(b, offsetof(ingot_file_header, section_table_offset), 259));
  CASE("section table past the end", INGOT_DATA_LOSS, "section table",
       put64(b, offsetof(ingot_file_header, section_table_offset),
             UINT64_MAX - 7));
  CASE("absurd arena size", INGOT_DATA_LOSS, "arena size",
       put64(b, offsetof(ingot_file_header, arena_size), 1ull << 50));
  CASE("arena too small for tensors", INGOT_DATA_LOSS, "outside the arena",
       put64(b, offsetof(ingot_file_header, arena_size), 100));
  CASE("weights size mismatch", INGOT_DATA_LOSS, "WEIGHTS",
       put64(b, offsetof(ingot_file_header, weights_size), 64));
  CASE("code size mismatch", INGOT_DATA_LOSS, "CPU_CODE",
       put64(b, offsetof(ingot_file_header, code_size), 64));
  CASE("absurd weights size", INGOT_DATA_LOSS, "larger than the file",
       put64(b, offsetof(ingot_file_header, weights_size), UINT64_MAX));
  CASE("GPU arch without GPU sections", INGOT_DATA_LOSS, "sm_80",
       put32(b, offsetof(ingot_file_header, gpu_arch), 80));
  CASE("other target", INGOT_INCOMPATIBLE, "aarch64",
       memcpy(b + offsetof(ingot_file_header, target_triple),
              "aarch64-linux-gnu", 18));
  CASE("producer not terminated", INGOT_DATA_LOSS, "NUL",
       memset(b + offsetof(ingot_file_header, producer), 'A', 32));
  /* a newer minor version with the same major loads */
  uint8_t *b = dup();
  b[offsetof(ingot_file_header, format_minor)] = 77;
  char msg[256];
  CHECK(try_load(b, VN, msg, sizeof msg) == INGOT_OK);
  free(b);
}

static void test_cpu_features(void) {
  CASE("unknown CPU feature bit", INGOT_INCOMPATIBLE, "bit40",
       put64(b, offsetof(ingot_file_header, cpu_features), 1ull << 40));
  /* a feature this machine lacks, if it lacks any */
  uint64_t have = rt_cpu_detect();
  for (int bit = 0; bit < 16; bit++)
    if (!(have >> bit & 1)) {
      char name[64];
      rt_cpu_names(1ull << bit, name, sizeof name);
      CASE("feature missing on this CPU", INGOT_INCOMPATIBLE, name,
           put64(b, offsetof(ingot_file_header, cpu_features), 1ull << bit));
      break;
    }
  /* and the check itself against a pretend CPU without AMX-BF16 */
  ingot_status s = rt_cpu_check(INGOT_CPU_AMX_BF16 | INGOT_CPU_AVX2,
                                INGOT_CPU_AVX2 | INGOT_CPU_AMX_TILE);
  CHECK(ingot_status_code_of(s) == INGOT_INCOMPATIBLE);
  CHECK(s && strstr(ingot_status_message(s), "amx-bf16") &&
        !strstr(ingot_status_message(s), "avx2"));
  printf("%-34s %s\n", "pretend CPU without amx-bf16", ingot_status_message(s));
  ingot_status_free(s);
  CHECK(rt_cpu_check(INGOT_CPU_AVX2, INGOT_CPU_AVX2 | INGOT_CPU_FMA) == NULL);
  /* what this machine has is what it says it has */
  CHECK(rt_cpu_check(have, have) == NULL);
  if (have & INGOT_CPU_AVX512F) CHECK(have & INGOT_CPU_AVX2);
  /* check_file says the same without loading */
  uint8_t *b = dup();
  put64(b, offsetof(ingot_file_header, cpu_features), 1ull << 40);
  char path[512];
  snprintf(path, sizeof path, "%s/future.ingot", tmpdir);
  CHECK(write_file(path, b, VN) == 0);
  s = ingot_engine_check_file(path);
  CHECK(ingot_status_code_of(s) == INGOT_INCOMPATIBLE);
  ingot_status_free(s);
  free(b);
  snprintf(path, sizeof path, "%s/no-such-engine.ingot", tmpdir);
  s = ingot_engine_check_file(path);
  CHECK(ingot_status_code_of(s) == INGOT_NOT_FOUND);
  ingot_status_free(s);
}

static void test_sections(void) {
  CASE("section misaligned", INGOT_DATA_LOSS, "aligned",
       put64(b, sec_off(S_PLAN, 8), SEC[S_PLAN].offset + 8));
  CASE("section past the end", INGOT_DATA_LOSS, "outside",
       put64(b, sec_off(S_WEIGHTS, 8), (VN + 64) & ~63ull));
  CASE("section absurd size", INGOT_DATA_LOSS, "outside",
       put64(b, sec_off(S_WEIGHTS, 16), UINT64_MAX));
  CASE("section absurd offset", INGOT_DATA_LOSS, "outside",
       put64(b, sec_off(S_TENSORS, 8), UINT64_MAX - 63));
  CASE("section over its table", INGOT_DATA_LOSS, "outside",
       put64(b, sec_off(S_STRINGS, 8), 256));
  CASE("overlapping sections", INGOT_DATA_LOSS, "overlap",
       put64(b, sec_off(S_PLAN, 8), SEC[S_TENSORS].offset));
  CASE("duplicate section", INGOT_DATA_LOSS, "twice",
       put32(b, sec_off(S_PROV, 0), INGOT_SECTION_PLAN));
  CASE("missing STRINGS", INGOT_DATA_LOSS, "STRINGS is missing",
       put32(b, sec_off(S_STRINGS, 0), 99));
  CASE("missing CPU_CODE", INGOT_DATA_LOSS, "CPU_CODE",
       put32(b, sec_off(S_CODE, 0), 99));
  CASE("STRINGS not terminated", INGOT_DATA_LOSS, "NUL",
       b[SEC[S_STRINGS].offset + SEC[S_STRINGS].size - 1] = 'x');
  CASE("STRINGS not starting empty", INGOT_DATA_LOSS, "NUL",
       b[SEC[S_STRINGS].offset] = 'x');
  CASE("PROVENANCE wrong size", INGOT_DATA_LOSS, "PROVENANCE",
       put64(b, sec_off(S_PROV, 16), 4));
  CASE("provenance string out of range", INGOT_DATA_LOSS, "step 2",
       put32(b, SEC[S_PROV].offset + 8, 0x7fffffff));
  /* an unknown (newer) optional section kind is skipped */
  uint8_t *b = dup();
  put32(b, sec_off(S_BUILD, 0), 42);
  fix_crc(b, VN);
  CHECK(try_load(b, VN, NULL, 0) == INGOT_OK);
  free(b);
}

static void test_tensors(void) {
  size_t th = SEC[S_TENSORS].offset;
  CASE("tensor count absurd", INGOT_DATA_LOSS, "count",
       put32(b, th, 0xffffffffu));
  CASE("tensor counts disagree", INGOT_DATA_LOSS, "count",
       put32(b, th + 4, 2));
  CASE("tensor desc size tiny", INGOT_DATA_LOSS, "descriptor size",
       put32(b, th + 12, 8));
  CASE("tensor desc size huge", INGOT_DATA_LOSS, "descriptor size",
       put32(b, th + 12, 0x7fffffff));
  CASE("tensor desc size too big", INGOT_DATA_LOSS, "do not fit",
       put32(b, th + 12, 1024));
  CASE("tensor name out of range", INGOT_DATA_LOSS, "string offset",
       put32(b, tensor_off(1, offsetof(ingot_tensor_desc, name)), 0xfffffff0u));
  CASE("tensor name empty", INGOT_DATA_LOSS, "empty name",
       put32(b, tensor_off(1, offsetof(ingot_tensor_desc, name)), 0));
  CASE("duplicate input names", INGOT_DATA_LOSS, "'x'",
       put32(b, tensor_off(1, offsetof(ingot_tensor_desc, name)),
             string_offset("x")));
  CASE("tensor role wrong", INGOT_DATA_LOSS, "role",
       put32(b, tensor_off(4, offsetof(ingot_tensor_desc, role)),
             INGOT_TENSOR_INPUT));
  CASE("tensor dtype unknown", INGOT_UNIMPLEMENTED, "'idx'",
       put32(b, tensor_off(1, offsetof(ingot_tensor_desc, dtype)), 99));
  CASE("stored dtype unknown", INGOT_UNIMPLEMENTED, "'z'",
       put32(b, tensor_off(4, offsetof(ingot_tensor_desc, stored_dtype)), 0));
  CASE("float stored as int32", INGOT_UNIMPLEMENTED, "stored as int32",
       put32(b, tensor_off(3, offsetof(ingot_tensor_desc, stored_dtype)),
             INGOT_INT32));
  CASE("rank 9", INGOT_DATA_LOSS, "rank 9",
       put32(b, tensor_off(0, offsetof(ingot_tensor_desc, rank)), 9));
  CASE("negative dimension", INGOT_DATA_LOSS, "dimension 0",
       put64(b, tensor_off(1, offsetof(ingot_tensor_desc, dims)), (uint64_t)-1));
  CASE("absurd dimensions", INGOT_DATA_LOSS, "dimension",
       for (int k = 0; k < 4; k++)
         put64(b, tensor_off(0, offsetof(ingot_tensor_desc, dims) + 8 * k),
               1ull << 40));
  CASE("arena bytes disagree", INGOT_DATA_LOSS, "need 48",
       put64(b, tensor_off(1, offsetof(ingot_tensor_desc, arena_bytes)), 49));
  CASE("arena offset outside", INGOT_DATA_LOSS, "outside the arena",
       put64(b, tensor_off(4, offsetof(ingot_tensor_desc, arena_offset)),
             UINT64_MAX - 8));
  CASE("layout unknown", INGOT_DATA_LOSS, "layout 7",
       put32(b, tensor_off(0, offsetof(ingot_tensor_desc, layout)), 7));
  CASE("NHWC on a vector", INGOT_DATA_LOSS, "rank-1",
       put32(b, tensor_off(1, offsetof(ingot_tensor_desc, layout)),
             INGOT_LAYOUT_NHWC));
  float zero = 0.0f;
  CASE("quantisation scale 0", INGOT_DATA_LOSS, "scale",
       memcpy(b + tensor_off(2, offsetof(ingot_tensor_desc, scale)), &zero, 4));
  CASE("zero point out of range", INGOT_DATA_LOSS, "zero point",
       put32(b, tensor_off(2, offsetof(ingot_tensor_desc, zero_point)), 300));
}

static uint64_t map_off(int i, size_t field) {
  return SEC[S_MAP].offset + sizeof(ingot_tensor_map_header) +
         (uint64_t)i * sizeof(ingot_tensor_map_entry) + field;
}

/* TENSOR_MAP (format 1.2) and engines without it. */
static void test_tensor_map(void) {
  size_t mh = SEC[S_MAP].offset;
  CHECK(SEC[S_MAP].kind == INGOT_SECTION_TENSOR_MAP);
  if (SEC[S_MAP].kind != INGOT_SECTION_TENSOR_MAP) return;
  CASE("map count too large", INGOT_DATA_LOSS, "do not fit",
       put32(b, mh, 1000));
  CASE("map entry size tiny", INGOT_DATA_LOSS, "entry size",
       put32(b, mh + 4, 16));
  CASE("map name out of range", INGOT_DATA_LOSS, "string offset",
       put32(b, map_off(1, offsetof(ingot_tensor_map_entry, name)), 0xfffffff0u));
  CASE("map dtype unknown", INGOT_DATA_LOSS, "dtype 99",
       put32(b, map_off(0, offsetof(ingot_tensor_map_entry, dtype)), 99));
  CASE("map bytes outside arena", INGOT_DATA_LOSS, "'y'",
       put64(b, map_off(2, offsetof(ingot_tensor_map_entry, arena_offset)),
             UINT64_MAX - 8));
  CASE("map ready after no step", INGOT_DATA_LOSS, "ready after step 5",
       put32(b, map_off(2, offsetof(ingot_tensor_map_entry, ready_step)), 5));
  CASE("map NHWC on a vector", INGOT_DATA_LOSS, "layout 1",
       put32(b, map_off(1, offsetof(ingot_tensor_map_entry, layout)), 1));
  CASE("map quantised float", INGOT_DATA_LOSS, "quantisation",
       put32(b, map_off(0, offsetof(ingot_tensor_map_entry, flags)), 1));
  CASE("map zero point out of range", INGOT_DATA_LOSS, "zero point 300",
       put32(b, map_off(1, offsetof(ingot_tensor_map_entry, zero_point)), 300));
  CASE("map flags unknown", INGOT_DATA_LOSS, "flags",
       put32(b, map_off(1, offsetof(ingot_tensor_map_entry, flags)), 6));
  /* A format 1.1 engine: no TENSOR_MAP (here: its kind unknown to this
   * runtime, which must skip it) loads, runs, and maps no tensors. */
  uint8_t *b = dup();
  put32(b, sec_off(S_MAP, 0), 99);
  uint16_t minor = 1;
  memcpy(b + offsetof(ingot_file_header, format_minor), &minor, 2);
  fix_crc(b, VN);
  ingot_engine *e = NULL;
  CHECK_OK(ingot_engine_load_memory(b, VN, &e));
  CHECK(e && ingot_engine_tensor_count(e) == 0);
  ingot_session *s = NULL;
  if (e) CHECK_OK(ingot_session_create(e, NULL, &s));
  if (s) {
    CHECK_OK(ingot_session_keep_tensors(s, 1));
    float x;
    ingot_status st = ingot_session_read_tensor(s, 0, INGOT_FLOAT32, &x, 4);
    CHECK(ingot_status_code_of(st) == INGOT_OUT_OF_RANGE);
    ingot_status_free(st);
  }
  ingot_session_destroy(s);
  ingot_engine_release(e);
  free(b);
}

static void test_plan(void) {
  size_t ph = SEC[S_PLAN].offset;
  CASE("step count absurd", INGOT_DATA_LOSS, "steps",
       put32(b, ph, 0xffffffffu));
  CASE("step count too large", INGOT_DATA_LOSS, "do not fit",
       put32(b, ph, 6));
  CASE("step size tiny", INGOT_DATA_LOSS, "step size",
       put32(b, ph + 4, 1));
  CASE("step tasks 0", INGOT_DATA_LOSS, "task count 0",
       put64(b, step_off(3, offsetof(ingot_step_desc, tasks)), 0));
  CASE("step tasks negative", INGOT_DATA_LOSS, "task count -5",
       put64(b, step_off(3, offsetof(ingot_step_desc, tasks)), (uint64_t)-5));
  CASE("step tasks absurd", INGOT_DATA_LOSS, "task count",
       put64(b, step_off(3, offsetof(ingot_step_desc, tasks)), 1ull << 40));
  CASE("step symbol out of range", INGOT_DATA_LOSS, "step 1",
       put32(b, step_off(1, offsetof(ingot_step_desc, symbol)), 0xffffff00u));
  CASE("step without symbol", INGOT_DATA_LOSS, "no symbol",
       put32(b, step_off(1, offsetof(ingot_step_desc, symbol)), 0));
  CASE("step symbol not in code", INGOT_DATA_LOSS, "'k_test' is not in",
       put32(b, step_off(1, offsetof(ingot_step_desc, symbol)),
             string_offset("k_test")));
  CASE("step op out of range", INGOT_DATA_LOSS, "step 4",
       put32(b, step_off(4, offsetof(ingot_step_desc, op)), 0x80000000u));
}

static void test_code(void) {
  size_t c = SEC[S_CODE].offset;
  CASE("code not ELF", INGOT_DATA_LOSS, "CPU_CODE: not an ELF", b[c + 1] = 'Z');
  CASE("code for another machine", INGOT_INCOMPATIBLE, "machine",
       b[c + 18] = 183 /* EM_AARCH64 */);
  /* an undefined symbol outside the whitelist: rename memcpy */
  uint8_t *b = dup();
  int renamed = 0;
  for (size_t i = c; i + 7 <= c + SEC[S_CODE].size; i++)
    if (memcmp(b + i, "\0memcpy\0", 8) == 0) {
      memcpy(b + i + 1, "system", 6);
      renamed = 1;
      break;
    }
  CHECK(renamed);
  fix_crc(b, VN);
  expect("undefined symbol 'system'", b, VN, INGOT_UNIMPLEMENTED, "'system'");
}

static void test_api(void) {
  ingot_engine *e = NULL;
  ingot_status s = ingot_engine_load_memory(NULL, 10, &e);
  CHECK(ingot_status_code_of(s) == INGOT_INVALID_ARGUMENT);
  ingot_status_free(s);
  s = ingot_engine_load_memory(V, VN, NULL);
  CHECK(ingot_status_code_of(s) == INGOT_INVALID_ARGUMENT);
  ingot_status_free(s);
  s = ingot_engine_load_file(NULL, &e);
  CHECK(ingot_status_code_of(s) == INGOT_INVALID_ARGUMENT);
  ingot_status_free(s);
  s = ingot_engine_load_file("/nonexistent/engine.ingot", &e);
  CHECK(ingot_status_code_of(s) == INGOT_NOT_FOUND && e == NULL);
  ingot_status_free(s);
  s = ingot_engine_load_file(tmpdir, &e); /* a directory */
  CHECK(ingot_status_code_of(s) == INGOT_INVALID_ARGUMENT);
  ingot_status_free(s);
  ingot_engine_release(NULL);
  ingot_session_destroy(NULL);
  CHECK(ingot_engine_input_count(NULL) == 0);

  CHECK_OK(ingot_engine_load_memory(V, VN, &e));
  if (!e) return;
  ingot_session *ss = NULL;
  ingot_session_options bad_threads = {-3};
  s = ingot_session_create(e, &bad_threads, &ss);
  CHECK(ingot_status_code_of(s) == INGOT_INVALID_ARGUMENT && ss == NULL);
  ingot_status_free(s);
  s = ingot_session_create(NULL, NULL, &ss);
  CHECK(ingot_status_code_of(s) == INGOT_INVALID_ARGUMENT);
  ingot_status_free(s);
  ingot_session_options two = {2};
  CHECK_OK(ingot_session_create(e, &two, &ss));
  ingot_engine_release(e);
  if (!ss) return;

  float x[T_XN] = {0};
  int64_t idx[N_IDX] = {0};
  uint8_t u8[T_XN] = {0};
  float out[T_XN];
  struct {
    const char *what;
    ingot_status st;
    ingot_status_code code;
    const char *needle;
  } cases[] = {
      {"get_output before run",
       ingot_session_get_output(ss, 0, INGOT_FLOAT32, out, sizeof out),
       INGOT_FAILED_PRECONDITION, "'y'"},
      {"run before inputs are set", ingot_session_run(ss),
       INGOT_FAILED_PRECONDITION, "'x'"},
      {"input too small",
       ingot_session_set_input(ss, 0, INGOT_FLOAT32, x, sizeof x - 4),
       INGOT_INVALID_ARGUMENT, "'x' (float32[1x3x4x5]) as float32 needs 240"},
      {"input too large",
       ingot_session_set_input(ss, 1, INGOT_INT64, idx, sizeof idx + 8),
       INGOT_INVALID_ARGUMENT, "'idx'"},
      {"input wrong dtype",
       ingot_session_set_input(ss, 0, INGOT_UINT8, u8, sizeof u8),
       INGOT_INVALID_ARGUMENT, "not uint8"},
      {"input index -1",
       ingot_session_set_input(ss, -1, INGOT_FLOAT32, x, sizeof x),
       INGOT_OUT_OF_RANGE, "index -1"},
      {"input index 3",
       ingot_session_set_input(ss, 3, INGOT_FLOAT32, x, sizeof x),
       INGOT_OUT_OF_RANGE, "index 3"},
      {"input data NULL",
       ingot_session_set_input(ss, 0, INGOT_FLOAT32, NULL, sizeof x),
       INGOT_INVALID_ARGUMENT, "NULL"},
      {"output wrong size",
       ingot_session_get_output(ss, 1, INGOT_INT64, out, 7),
       INGOT_INVALID_ARGUMENT, "'z'"},
      {"output wrong dtype",
       ingot_session_get_output(ss, 1, INGOT_INT32, out, N_IDX * 4),
       INGOT_INVALID_ARGUMENT, "not int32"},
      {"output index 6",
       ingot_session_get_output(ss, 6, INGOT_FLOAT32, out, sizeof out),
       INGOT_OUT_OF_RANGE, "index 6"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *m = ingot_status_message(cases[i].st);
    printf("%-34s %-18s %s\n", cases[i].what,
           ingot_status_code_name(ingot_status_code_of(cases[i].st)), m);
    if (ingot_status_code_of(cases[i].st) != cases[i].code ||
        !strstr(m, cases[i].needle)) {
      fprintf(stderr, "  expected %s containing '%s'\n",
              ingot_status_code_name(cases[i].code), cases[i].needle);
      check_failures++;
    }
    ingot_status_free(cases[i].st);
  }
  ingot_session_destroy(ss);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: test_bad_engine TMPDIR OBJECT\n");
    return 2;
  }
  tmpdir = argv[1];
  size_t n;
  uint8_t *obj = read_file(argv[2], &n);
  if (!obj) {
    fprintf(stderr, "cannot read %s\n", argv[2]);
    return 1;
  }
  V = fixture_engine(FIX_FULL, obj, n, &VN);
  free(obj);
  if (!V) return 1;
  memcpy(SEC, V + INGOT_HEADER_SIZE, sizeof SEC);
  CHECK(try_load(V, VN, NULL, 0) == INGOT_OK);
  test_header();
  test_cpu_features();
  test_sections();
  test_tensors();
  test_tensor_map();
  test_plan();
  test_code();
  test_api();
  test_truncation();
  test_bit_flips();
  free(V);
  return check_report("test_bad_engine");
}
