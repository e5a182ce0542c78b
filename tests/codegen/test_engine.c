/* test_engine.c — the whole CPU path: templates specialised by codegen
 * (llvm.c), packed by the engine writer, loaded and run by libingot_rt
 * through its public API, with a thread pool splitting the tasks.
 *
 * The engine computes y = 2.5 x + w with two steps:
 *   init  k_test_copy  w (weights) -> y (arena), 10 rows, 5 tasks
 *   axpy  k_test_axpy  y = 2.5 x + y, 1000 elements, 4 tasks
 * for the host target, with 1, 2 and 3 threads, and checks every element
 * exactly (templates are compiled without FP contraction).  It also checks
 * that the same build gives the same engine bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "check.h"
#include "engine_format.h"
#include "generic/test_kernels.h"

enum { N = 1000, X_OFF = 0, Y_OFF = 4096, ARENA = 8192 };

static float w_of(int i) {
  return (float)((i * 7) % 23) * 0.25f - 2.0f;
}
static float x_of(int i) {
  return (float)((i * 31) % 97) * 0.0625f - 3.0f;
}

/* Emits the two steps for |t| and serialises the engine into *out. */
static ingot_status build(const cg_target *t, const float *weights, void **out,
                          size_t *out_size) {
  k_test_copy_desc init = {
      10, N * 4 / 10, 5, {0, KB_WEIGHTS, 0}, {Y_OFF, KB_ARENA, 0}};
  k_test_axpy_desc axpy = {
      N, 4, 2.5f, 0, {X_OFF, KB_ARENA, 0}, {Y_OFF, KB_ARENA, 0}};
  cg_module *m = NULL;
  INGOT_RETURN_IF_ERROR(cg_module_create(t, &m));
  void *obj = NULL;
  size_t obj_size = 0;
  ingot_status s =
      cg_module_add_step(m, "step_init", "k_test_copy", &init, sizeof init);
  if (!s)
    s = cg_module_add_step(m, "step_axpy", "k_test_axpy", &axpy, sizeof axpy);
  if (!s) s = cg_module_emit(m, &obj, &obj_size);
  cg_module_destroy(m);
  if (s) return s;

  cg_io_tensor io[2];
  memset(io, 0, sizeof io);
  const char *names[2] = {"x", "y"};
  uint64_t offs[2] = {X_OFF, Y_OFF};
  for (int i = 0; i < 2; i++) {
    io[i].name = names[i];
    io[i].role = i ? INGOT_TENSOR_OUTPUT : INGOT_TENSOR_INPUT;
    io[i].dtype = io[i].stored_dtype = INGOT_FLOAT32;
    io[i].rank = 1;
    io[i].dims[0] = N;
    io[i].arena_offset = offs[i];
    io[i].arena_bytes = N * 4;
    io[i].layout = INGOT_LAYOUT_AS_MODEL;
  }
  cg_plan_step steps[2] = {
      {"step_init", "k_test_copy", "copy w -> y", "init", INGOT_FLOAT32, 5, 0,
       2 * N * 4},
      {"step_axpy", "k_test_axpy", "y = 2.5 x + y", "axpy", INGOT_FLOAT32, 4,
       2 * N, 3 * N * 4},
  };
  cg_engine_desc d = {0};
  d.target = t;
  d.arena_size = ARENA;
  d.weights = weights;
  d.weights_size = N * sizeof(float);
  d.code = obj;
  d.code_size = obj_size;
  d.tensors = io;
  d.n_inputs = 1;
  d.n_outputs = 1;
  d.steps = steps;
  d.n_steps = 2;
  d.build_info = "command: tests/codegen/test_engine\nprecision: fp32\n";
  s = cg_engine_serialize(&d, out, out_size);
  free(obj);
  return s;
}

static void run(const void *engine, size_t size, int threads, const float *x,
                const float *w) {
  ingot_engine *e = NULL;
  ingot_session *ss = NULL;
  CHECK_OK(ingot_engine_load_memory(engine, size, &e));
  if (!e) return;
  ingot_session_options opt = {threads};
  CHECK_OK(ingot_session_create(e, &opt, &ss));
  float *y = calloc(N, sizeof *y);
  if (ss && y) {
    CHECK_OK(ingot_session_set_input(ss, 0, INGOT_FLOAT32, x, N * 4));
    CHECK_OK(ingot_session_run(ss));
    CHECK_OK(ingot_session_get_output(ss, 0, INGOT_FLOAT32, y, N * 4));
    int bad = 0;
    for (int i = 0; i < N; i++) {
      float p = 2.5f * x[i];
      float want = p + w[i];
      if (y[i] != want && bad++ < 3)
        fprintf(stderr, "threads %d: y[%d] = %g, want %g\n", threads, i,
                (double)y[i], (double)want);
    }
    CHECK(bad == 0);
    /* A second run on the same session gives the same (the init step
     * rewrites y from the weights). */
    CHECK_OK(ingot_session_run(ss));
    float *y2 = calloc(N, sizeof *y2);
    if (y2) {
      CHECK_OK(ingot_session_get_output(ss, 0, INGOT_FLOAT32, y2, N * 4));
      CHECK(!memcmp(y, y2, N * 4));
      free(y2);
    }
  }
  free(y);
  ingot_session_destroy(ss);
  ingot_engine_release(e);
}

int main(void) {
  cg_target host;
  CHECK_OK(cg_target_host(&host));
  float *w = malloc(N * sizeof *w), *x = malloc(N * sizeof *x);
  if (!w || !x) return 1;
  for (int i = 0; i < N; i++) w[i] = w_of(i), x[i] = x_of(i);

  void *engine = NULL, *again = NULL;
  size_t size = 0, size2 = 0;
  CHECK_OK(build(&host, w, &engine, &size));
  CHECK_OK(build(&host, w, &again, &size2));
  CHECK(engine && again && size == size2 && !memcmp(engine, again, size));
  if (engine) {
    printf("engine: %zu bytes for %s\n", size, host.cpu);
    for (int threads = 1; threads <= 3; threads++)
      run(engine, size, threads, x, w);
  }
  free(engine);
  free(again);
  free(w);
  free(x);
  return check_report("test_engine");
}
