/* test_runtime.c — the runtime end to end on engines written by the engine
 * writer around real clang-compiled step objects: load (memory and file),
 * tensor and step queries, sessions with 1..8 threads, float32/int64 I/O,
 * NHWC conversion, quantised tensors, repeated and concurrent runs; plus
 * CRC32C, writer determinism and every dtype conversion (FIX_CONVERT).
 *
 * Usage: test_runtime TMPDIR OBJECT...   (each OBJECT is steps.c compiled
 * one way: PIC, non-PIC, function sections, no GOT relaxation)
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "crc32c.h"
#include "engine_format.h"
#include "fixture.h"
#include "ingot/ingot.h"

static const char *tmpdir;

static void test_crc32c(void) {
  CHECK(rt_crc32c("123456789", 9) == 0xe3069283u);
  CHECK(rt_crc32c_portable("123456789", 9) == 0xe3069283u);
  CHECK(rt_crc32c("", 0) == 0);
  uint8_t buf[300];
  for (int i = 0; i < 300; i++) buf[i] = (uint8_t)(i * 37 + 11);
  for (int off = 0; off < 9; off++)
    for (int n = 0; n + off <= 300; n += 13)
      CHECK(rt_crc32c(buf + off, (size_t)n) ==
            rt_crc32c_portable(buf + off, (size_t)n));
}

static uint64_t fnv(const uint8_t *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static void test_writer(const uint8_t *obj, size_t n) {
  size_t a_size, b_size;
  uint8_t *a = fixture_engine(FIX_FULL, obj, n, &a_size);
  uint8_t *b = fixture_engine(FIX_FULL, obj, n, &b_size);
  CHECK(a && b && a_size == b_size && memcmp(a, b, a_size) == 0);
  if (!a || !b) goto out;
  ingot_file_header h;
  memcpy(&h, a, sizeof h);
  CHECK(memcmp(h.magic, INGOT_MAGIC, 8) == 0);
  CHECK(h.file_size == a_size && h.header_size == INGOT_HEADER_SIZE);
  CHECK(h.checksum == rt_crc32c(a + 256, a_size - 256));
  CHECK(h.content_hash == fnv(a + 256, a_size - 256));
  CHECK(h.section_count == 8 && h.section_table_offset == 256);
  CHECK(h.format_major == 1 && h.format_minor == INGOT_FORMAT_MINOR);
  CHECK(h.arena_size == A_SIZE && h.weights_size == W_SIZE && h.code_size == n);
  CHECK(strncmp(h.producer, "ingot ", 6) == 0);
  ingot_section_entry sec[7];
  memcpy(sec, a + 256, sizeof sec);
  for (int i = 0; i < 7; i++) {
    CHECK(sec[i].offset % 64 == 0);
    if (i) CHECK(sec[i].offset >= sec[i - 1].offset + sec[i - 1].size);
  }
  CHECK(sec[0].kind == INGOT_SECTION_STRINGS && a[sec[0].offset] == 0);
  /* "k_test" is used by five steps but stored once */
  const char *strings = (const char *)a + sec[0].offset;
  int seen = 0;
  for (uint64_t i = 0; i < sec[0].size; i += strlen(strings + i) + 1)
    seen += strcmp(strings + i, "k_test") == 0;
  CHECK(seen == 1);
  CHECK(memcmp(a + sec[5].offset, obj, n) == 0);

  /* bad descriptions are refused at build time */
  fixture f;
  fixture_init(&f, FIX_FULL, obj, n);
  void *out;
  size_t size;
  f.tensors[1].arena_offset = A_SIZE;
  ingot_status s = cg_engine_serialize(&f.desc, &out, &size);
  CHECK(ingot_status_code_of(s) == INGOT_INVALID_ARGUMENT);
  CHECK(s && strstr(ingot_status_message(s), "idx"));
  ingot_status_free(s);
  fixture_init(&f, FIX_FULL, obj, n);
  f.steps[2].tasks = 0;
  s = cg_engine_serialize(&f.desc, &out, &size);
  CHECK(ingot_status_code_of(s) == INGOT_INVALID_ARGUMENT);
  ingot_status_free(s);
  char path[512];
  snprintf(path, sizeof path, "%s/no/such/dir/e.ingot", tmpdir);
  fixture_init(&f, FIX_FULL, obj, n);
  s = cg_engine_write_file(&f.desc, path);
  CHECK(s && strstr(ingot_status_message(s), path));
  ingot_status_free(s);
out:
  free(a);
  free(b);
}

/*===--- the FULL engine ---------------------------------------------------===*/

static const int64_t idx_in[N_IDX] = {0, 1, 7, -5, 12, 33};
static const float q_in[N_Q] = {0.0f, 0.5f, 1.2f, -5.0f, -6.0f, 100.0f, 0.25f, 0.75f};

static float q_expect(float x) { /* uint8, scale 0.5, zero point 10 */
  float q = rintf(x / 0.5f) + 10.0f;
  q = q < 0 ? 0 : q > 255 ? 255 : q;
  return (q - 10.0f) * 0.5f;
}

static void set_inputs(ingot_session *s, int idx_as_float) {
  float x[T_XN];
  for (int i = 0; i < T_XN; i++) x[i] = fix_x(i);
  CHECK_OK(ingot_session_set_input(s, 0, INGOT_FLOAT32, x, sizeof x));
  if (idx_as_float) {
    float f[N_IDX];
    for (int i = 0; i < N_IDX; i++) f[i] = (float)idx_in[i];
    CHECK_OK(ingot_session_set_input(s, 1, INGOT_FLOAT32, f, sizeof f));
  } else {
    CHECK_OK(ingot_session_set_input(s, 1, INGOT_INT64, idx_in, sizeof idx_in));
  }
  CHECK_OK(ingot_session_set_input(s, 2, INGOT_FLOAT32, q_in, sizeof q_in));
}

/* Checks every output after a run; returns the run counter. */
static int64_t check_outputs(ingot_session *s) {
  float y[T_XN], xc[T_XN], qo[N_Q], zf[N_IDX];
  int64_t z[N_IDX], count = -1, sum[2] = {0, 0};
  CHECK_OK(ingot_session_get_output(s, 0, INGOT_FLOAT32, y, sizeof y));
  CHECK_OK(ingot_session_get_output(s, 1, INGOT_INT64, z, sizeof z));
  CHECK_OK(ingot_session_get_output(s, 1, INGOT_FLOAT32, zf, sizeof zf));
  CHECK_OK(ingot_session_get_output(s, 2, INGOT_INT64, &count, sizeof count));
  CHECK_OK(ingot_session_get_output(s, 3, INGOT_FLOAT32, xc, sizeof xc));
  CHECK_OK(ingot_session_get_output(s, 4, INGOT_FLOAT32, qo, sizeof qo));
  CHECK_OK(ingot_session_get_output(s, 5, INGOT_INT64, sum, sizeof sum));
  int bad_y = 0, bad_xc = 0;
  for (int i = 0; i < T_XN; i++) {
    int c = i / (T_H * T_W); /* NCHW index -> channel */
    bad_y += y[i] != fix_y(c, fix_x(i));
    bad_xc += xc[i] != fix_x(i);
  }
  CHECK(bad_y == 0);
  CHECK(bad_xc == 0);
  for (int i = 0; i < N_IDX; i++) {
    CHECK(z[i] == fix_z(idx_in[i]));
    CHECK(zf[i] == (float)fix_z(idx_in[i]));
  }
  for (int i = 0; i < N_Q; i++) CHECK(qo[i] == q_expect(q_in[i]));
  CHECK(sum[0] == (int64_t)SUM_TASKS * (SUM_TASKS - 1) / 2);
  CHECK(sum[1] == SUM_TASKS);
  return count;
}

static void test_queries(ingot_engine *e, size_t obj_size) {
  CHECK(ingot_engine_input_count(e) == 3);
  CHECK(ingot_engine_output_count(e) == 6);
  ingot_tensor_info ti;
  CHECK_OK(ingot_engine_input_info(e, 0, &ti));
  CHECK(strcmp(ti.name, "x") == 0 && ti.dtype == INGOT_FLOAT32 && ti.rank == 4);
  CHECK(ti.dims[0] == 1 && ti.dims[1] == T_C && ti.dims[2] == T_H &&
        ti.dims[3] == T_W && ti.nbytes == T_XN * 4);
  CHECK_OK(ingot_engine_input_info(e, 2, &ti));
  CHECK(strcmp(ti.name, "q") == 0 && ti.nbytes == N_Q * 4); /* float32 view */
  CHECK_OK(ingot_engine_output_info(e, 1, &ti));
  CHECK(strcmp(ti.name, "z") == 0 && ti.dtype == INGOT_INT64 &&
        ti.nbytes == N_IDX * 8);
  ingot_status s = ingot_engine_output_info(e, 6, &ti);
  CHECK(ingot_status_code_of(s) == INGOT_OUT_OF_RANGE);
  ingot_status_free(s);
  s = ingot_engine_input_info(e, -1, &ti);
  CHECK(ingot_status_code_of(s) == INGOT_OUT_OF_RANGE);
  ingot_status_free(s);
  CHECK(ingot_engine_find_input(e, "idx") == 1);
  CHECK(ingot_engine_find_output(e, "sum") == 5);
  CHECK(ingot_engine_find_output(e, "x") == -1);
  CHECK(ingot_engine_find_input(e, NULL) == -1);

  ingot_engine_info info;
  ingot_engine_get_info(e, &info);
  CHECK(info.format_major == INGOT_FORMAT_MAJOR && info.step_count == 5);
  CHECK(info.arena_size == A_SIZE && info.weights_size == W_SIZE &&
        info.code_size == obj_size);
  CHECK(strcmp(info.target_cpu, "x86-64") == 0);
  CHECK(strstr(info.build_info, "runtime test fixture") != NULL);
  CHECK(strncmp(info.producer, "ingot ", 6) == 0);
  CHECK(strcmp(info.producer + 6, ingot_version()) == 0);
  ingot_step_info st;
  CHECK_OK(ingot_engine_step_info(e, 1, &st));
  CHECK(strcmp(st.symbol, "step_index") == 0 && strcmp(st.kernel, "k_test") == 0);
  CHECK(strcmp(st.provenance, "gather_node\nadd_node") == 0 && st.tasks == N_IDX);
  CHECK_OK(ingot_engine_step_info(e, 4, &st));
  CHECK(st.tasks == SUM_TASKS && st.ops == 2 * SUM_TASKS);
  s = ingot_engine_step_info(e, 5, &st);
  CHECK(ingot_status_code_of(s) == INGOT_OUT_OF_RANGE);
  ingot_status_free(s);
  char names[128];
  CHECK(strcmp(ingot_cpu_feature_names(INGOT_CPU_AVX2 | INGOT_CPU_FMA, names,
                                       sizeof names),
               "avx2 fma") == 0);
}

typedef struct runner {
  ingot_engine *engine;
  int runs;
} runner;

static void *run_thread(void *arg) {
  runner *r = arg;
  ingot_session *s = NULL;
  ingot_session_options opt = {2};
  CHECK_OK(ingot_session_create(r->engine, &opt, &s));
  if (!s) return NULL;
  set_inputs(s, 0);
  for (int i = 0; i < r->runs; i++) {
    CHECK_OK(ingot_session_run(s));
    check_outputs(s);
  }
  ingot_session_destroy(s);
  return NULL;
}

/* TENSOR_MAP of FIX_FULL: x (input, NHWC), q (uint8, quantised), y. */
static void test_kept(ingot_session *s) {
  const ingot_engine *e = NULL;
  (void)e;
  float x[T_XN], y[T_XN], qf[N_Q];
  uint8_t q[N_Q];
  ingot_status st = ingot_session_read_tensor(s, 0, INGOT_FLOAT32, x, sizeof x);
  CHECK(ingot_status_code_of(st) == INGOT_FAILED_PRECONDITION);
  ingot_status_free(st);
  CHECK_OK(ingot_session_keep_tensors(s, 1));
  CHECK_OK(ingot_session_run(s));
  CHECK_OK(ingot_session_read_tensor(s, 0, INGOT_FLOAT32, x, sizeof x));
  CHECK_OK(ingot_session_read_tensor(s, 1, INGOT_UINT8, q, sizeof q));
  CHECK_OK(ingot_session_read_tensor(s, 1, INGOT_FLOAT32, qf, sizeof qf));
  CHECK_OK(ingot_session_read_tensor(s, 2, INGOT_FLOAT32, y, sizeof y));
  int bad = 0;
  for (int i = 0; i < T_XN; i++) {
    bad += x[i] != fix_x(i); /* NHWC in the arena, NCHW read back */
    bad += y[i] != fix_y(i / (T_H * T_W), fix_x(i));
  }
  for (int i = 0; i < N_Q; i++) {
    float want = rintf(q_in[i] / 0.5f) + 10;
    want = want < 0 ? 0 : want > 255 ? 255 : want;
    bad += q[i] != (uint8_t)want;
    bad += qf[i] != (want - 10) * 0.5f;
  }
  CHECK(bad == 0);
  st = ingot_session_read_tensor(s, 3, INGOT_FLOAT32, x, sizeof x);
  CHECK(ingot_status_code_of(st) == INGOT_OUT_OF_RANGE);
  ingot_status_free(st);
  st = ingot_session_read_tensor(s, 1, INGOT_INT8, q, sizeof q);
  CHECK(ingot_status_code_of(st) == INGOT_INVALID_ARGUMENT);
  ingot_status_free(st);
  CHECK_OK(ingot_session_keep_tensors(s, 0));
}

static void test_engine(const uint8_t *obj, size_t n, const char *label) {
  size_t size;
  uint8_t *bytes = fixture_engine(FIX_FULL, obj, n, &size);
  CHECK(bytes != NULL);
  if (!bytes) return;
  ingot_engine *e = NULL;
  CHECK_OK(ingot_engine_load_memory(bytes, size, &e));
  if (!e) {
    fprintf(stderr, "(%s)\n", label);
    free(bytes);
    return;
  }
  memset(bytes, 0, size); /* the engine keeps its own copy */
  test_queries(e, n);

  int64_t last = 0;
  const int threads[] = {1, 2, 3, 8, 0};
  for (size_t k = 0; k < sizeof threads / sizeof threads[0]; k++) {
    ingot_session_options opt = {threads[k]};
    ingot_session *s = NULL;
    CHECK_OK(ingot_session_create(e, &opt, &s));
    if (!s) continue;
    CHECK(ingot_session_thread_count(s) >= 1);
    if (threads[k]) CHECK(ingot_session_thread_count(s) == threads[k]);
    set_inputs(s, (int)(k & 1));
    for (int r = 0; r < 3; r++) {
      CHECK_OK(ingot_session_run(s));
      int64_t count = check_outputs(s);
      CHECK(count == last + 1); /* the .bss counter lives in the loaded code */
      last = count;
    }
    ingot_session_destroy(s);
  }

  /* two sessions of one engine run concurrently; the engine is released
   * by the caller first (sessions hold references) */
  runner r = {e, 25};
  pthread_t th[2];
  for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, run_thread, &r);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  ingot_session *s = NULL;
  CHECK_OK(ingot_session_create(e, NULL, &s));
  ingot_engine_release(e);
  if (s) {
    set_inputs(s, 0);
    CHECK_OK(ingot_session_run(s));
    CHECK(check_outputs(s) == last + 51);
    test_kept(s);
    ingot_session_destroy(s);
  }

  /* load_file and check_file on the same bytes; a second engine from the
   * same file has its own code, so its counter starts again at 1 */
  uint8_t *again = fixture_engine(FIX_FULL, obj, n, &size);
  char path[512];
  snprintf(path, sizeof path, "%s/full_%s.ingot", tmpdir, label);
  CHECK(again && write_file(path, again, size) == 0);
  CHECK_OK(ingot_engine_check_file(path));
  ingot_engine *e2 = NULL;
  CHECK_OK(ingot_engine_load_file(path, &e2));
  if (e2) {
    ingot_session *s2 = NULL;
    CHECK_OK(ingot_session_create(e2, NULL, &s2));
    if (s2) {
      set_inputs(s2, 0);
      CHECK_OK(ingot_session_run(s2));
      CHECK(check_outputs(s2) == 1);
      ingot_session_destroy(s2);
    }
    ingot_engine_release(e2);
  }
  free(again);
  free(bytes);
}

/*===--- conversions (FIX_CONVERT) ---------------------------------------===*/

static void test_convert(void) {
  size_t size;
  uint8_t *bytes = fixture_engine(FIX_CONVERT, NULL, 0, &size);
  ingot_engine *e = NULL;
  CHECK(bytes != NULL);
  if (bytes) CHECK_OK(ingot_engine_load_memory(bytes, size, &e));
  free(bytes);
  if (!e) return;
  ingot_session *s = NULL;
  ingot_session_options opt = {1};
  CHECK_OK(ingot_session_create(e, &opt, &s));
  ingot_engine_release(e);
  if (!s) return;
  int n = fix_convert_count;
  /* float32 in, float32 out: what each dtype makes of these values */
  const float in[5] = {1.5f, -2.7f, 300.4f, 65519.0f, 1e-7f};
  const float expect[][5] = {
      {1.5f, -2.7f, 300.4f, 65519.0f, 1e-7f},  /* float32 */
      {1, 0, 255, 255, 0},                     /* uint8: truncate, saturate */
      {1, -2, 127, 127, 0},                    /* int8 */
      {1, 0, 300, 65519, 0},                   /* uint16 */
      {1, -2, 300, 32767, 0},                  /* int16 */
      {1, -2, 300, 65519, 0},                  /* int32 */
      {1, -2, 300, 65519, 0},                  /* int64 */
      {1, 1, 1, 1, 1},                         /* bool */
      {1.5f, -2.69921875f, 300.5f, 65504.0f, 1.1920928955078125e-07f},
      {1.5f, -2.7f, 300.4f, 65519.0f, 1e-7f},  /* float64 */
      {1, 0, 300, 65519, 0},                   /* uint32 */
      {1, 0, 300, 65519, 0},                   /* uint64 */
      {1.5f, -2.703125f, 300.0f, 65536.0f, 1.0011717677116394e-07f},
  };
  for (int i = 0; i < n; i++)
    CHECK_OK(ingot_session_set_input(s, i, INGOT_FLOAT32, in, sizeof in));
  float dummy[24] = {0};
  float qz[N_Q] = {0};
  CHECK_OK(ingot_session_set_input(s, n, INGOT_FLOAT32, dummy, sizeof dummy));
  CHECK_OK(ingot_session_set_input(s, n + 1, INGOT_FLOAT32, qz, sizeof qz));
  CHECK_OK(ingot_session_run(s)); /* no steps: outputs are the inputs */
  for (int i = 0; i < n; i++) {
    float out[5];
    CHECK_OK(ingot_session_get_output(s, i, INGOT_FLOAT32, out, sizeof out));
    for (int k = 0; k < 5; k++)
      if (out[k] != expect[i][k]) {
        fprintf(stderr, "dtype %u value %d: got %.9g, expected %.9g\n",
                fix_convert_dtypes[i], k, (double)out[k], (double)expect[i][k]);
        check_failures++;
      }
  }
  /* float16 extremes: subnormals, overflow, NaN, negative zero */
  const float h_in[5] = {6e-8f, 65520.0f, NAN, -0.0f, -1e30f};
  CHECK_OK(ingot_session_set_input(s, 8, INGOT_FLOAT32, h_in, sizeof h_in));
  float h_out[5];
  uint16_t h_bits[5];
  CHECK_OK(ingot_session_get_output(s, 8, INGOT_FLOAT32, h_out, sizeof h_out));
  CHECK_OK(ingot_session_get_output(s, 8, INGOT_FLOAT16, h_bits, sizeof h_bits));
  CHECK(h_bits[0] == 0x0001 && h_out[0] == 0x1p-24f);
  CHECK(h_bits[1] == 0x7c00 && isinf(h_out[1]));
  CHECK((h_bits[2] & 0x7c00) == 0x7c00 && (h_bits[2] & 0x3ff) && isnan(h_out[2]));
  CHECK(h_bits[3] == 0x8000);
  CHECK(h_bits[4] == 0xfc00);
  /* native dtypes pass through untouched */
  const int64_t big[5] = {INT64_MAX, INT64_MIN, -1, 0, 123456789012345};
  int64_t big_out[5];
  CHECK_OK(ingot_session_set_input(s, 6, INGOT_INT64, big, sizeof big));
  CHECK_OK(ingot_session_get_output(s, 6, INGOT_INT64, big_out, sizeof big_out));
  CHECK(memcmp(big, big_out, sizeof big) == 0);
  const float sat[5] = {1e30f, -1e30f, NAN, 9.3e18f, -9.3e18f};
  CHECK_OK(ingot_session_set_input(s, 6, INGOT_FLOAT32, sat, sizeof sat));
  CHECK_OK(ingot_session_get_output(s, 6, INGOT_INT64, big_out, sizeof big_out));
  CHECK(big_out[0] == INT64_MAX && big_out[1] == INT64_MIN && big_out[2] == 0);
  CHECK(big_out[3] == INT64_MAX && big_out[4] == INT64_MIN);

  /* NCHW [2,3,2,2] in, NHWC bytes in the arena, NCHW back out */
  float p[24], p_out[24], raw[24];
  for (int i = 0; i < 24; i++) p[i] = (float)i;
  CHECK_OK(ingot_session_set_input(s, n, INGOT_FLOAT32, p, sizeof p));
  CHECK_OK(ingot_session_get_output(s, n, INGOT_FLOAT32, p_out, sizeof p_out));
  CHECK_OK(ingot_session_get_output(s, n + 1, INGOT_FLOAT32, raw, sizeof raw));
  CHECK(memcmp(p, p_out, sizeof p) == 0);
  int bad = 0;
  for (int nn = 0; nn < 2; nn++)
    for (int c = 0; c < 3; c++)
      for (int hw = 0; hw < 4; hw++)
        bad += raw[(nn * 4 + hw) * 3 + c] != p[(nn * 3 + c) * 4 + hw];
  CHECK(bad == 0);
  /* int8 quantisation, scale 0.25, zero point -3 */
  const float qv[N_Q] = {0, 0.125f, 0.375f, -0.125f, 100, -100, 1, -31.75f};
  const float qe[N_Q] = {0, 0, 0.5f, 0, 32.5f, -31.25f, 1, -31.25f};
  float qo[N_Q];
  CHECK_OK(ingot_session_set_input(s, n + 1, INGOT_FLOAT32, qv, sizeof qv));
  CHECK_OK(ingot_session_get_output(s, n + 2, INGOT_FLOAT32, qo, sizeof qo));
  for (int i = 0; i < N_Q; i++) CHECK(qo[i] == qe[i]);
  ingot_session_destroy(s);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test_runtime TMPDIR OBJECT...\n");
    return 2;
  }
  tmpdir = argv[1];
  test_crc32c();
  test_convert();
  for (int i = 2; i < argc; i++) {
    size_t n;
    uint8_t *obj = read_file(argv[i], &n);
    CHECK(obj != NULL);
    if (!obj) continue;
    if (i == 2) test_writer(obj, n);
    char label[16];
    snprintf(label, sizeof label, "obj%d", i - 2);
    test_engine(obj, n, label);
    free(obj);
  }
  return check_report("test_runtime");
}
