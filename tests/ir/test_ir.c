/* test_ir.c — unit tests of the IR core: arena, dtype conversions, graph
 * building and lookup, the verifier, broadcasting helpers, shape inference
 * and .npy round trips. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "ir.h"
#include "ref/ref.h"

static void test_arena(void) {
  ir_arena a;
  ir_arena_init(&a);
  char *p = ir_arena_alloc(&a, 10);
  CHECK(p && ((uintptr_t)p & 15) == 0);
  for (int i = 0; i < 10; i++) CHECK(p[i] == 0);
  void *big = ir_arena_alloc(&a, 1 << 20); /* larger than a block */
  CHECK(big != NULL);
  char *q = ir_arena_alloc(&a, 10); /* small allocations continue */
  CHECK(q && q != p);
  CHECK(ir_arena_calloc(&a, SIZE_MAX / 2, 4) == NULL); /* overflow */
  CHECK(strcmp(ir_arena_strdup(&a, "conv1"), "conv1") == 0);
  ir_arena_release(&a);
  CHECK(a.head == NULL);
}

static void test_dtypes(void) {
  /* float16: exact values, rounding to even, overflow, subnormals, NaN */
  CHECK(ir_f32_to_f16(1.0f) == 0x3c00);
  CHECK(ir_f32_to_f16(-2.0f) == 0xc000);
  CHECK(ir_f32_to_f16(65504.0f) == 0x7bff);
  CHECK(ir_f32_to_f16(70000.0f) == 0x7c00);
  CHECK(ir_f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00);   /* tie -> even */
  CHECK(ir_f32_to_f16(1.0f + 3.0f / 2048) == 0x3c02);   /* tie -> even */
  CHECK(ir_f32_to_f16(5.96046448e-8f) == 0x0001);       /* min subnormal */
  CHECK(ir_f16_to_f32(0x0001) == 5.96046448e-8f);
  CHECK(isnan(ir_f16_to_f32(ir_f32_to_f16(NAN))));
  for (uint32_t h = 0; h < 0x7c00; h++) /* every finite half round-trips */
    if (ir_f32_to_f16(ir_f16_to_f32((uint16_t)h)) != h) {
      CHECK(!"half round trip");
      break;
    }
  CHECK(ir_f32_to_bf16(1.0f) == 0x3f80);
  CHECK(ir_bf16_to_f32(0x3f80) == 1.0f);
  CHECK(ir_f32_to_bf16(1.00390625f) == 0x3f80); /* tie -> even */
  /* typed access */
  int8_t i8[2] = {-128, 127};
  CHECK(ir_load_i64(IR_I8, i8, 0) == -128);
  ir_store_i64(IR_I8, i8, 1, -5);
  CHECK(i8[1] == -5);
  uint64_t u = UINT64_MAX;
  CHECK(ir_load_u64(IR_U64, &u, 0) == UINT64_MAX);
  CHECK(strcmp(ir_dtype_name(IR_BF16), "bfloat16") == 0);
  CHECK(!ir_dtype_supported(IR_STRING));
  CHECK(ir_dtype_get((ir_dtype)99) == NULL);
}

static void test_graph_and_verify(void) {
  ir_graph *g;
  CHECK_OK(ir_graph_create(&g));
  ir_tensor_id x, y, z;
  CHECK_OK(ir_graph_add_tensor(g, "x", &x));
  ingot_status s = ir_graph_add_tensor(g, "x", &y);
  CHECK(s && strstr(ingot_status_message(s), "defined twice"));
  ingot_status_free(s);
  for (int i = 0; i < 1000; i++) { /* grow arrays and the name index */
    char name[32];
    snprintf(name, sizeof name, "t%d", i);
    CHECK_OK(ir_graph_add_tensor(g, name, &y));
  }
  CHECK(ir_graph_find_tensor(g, "t777") == x + 778);
  CHECK(ir_graph_find_tensor(g, "absent") == 0);
  CHECK_OK(ir_graph_add_tensor(g, "y", &y));
  CHECK_OK(ir_graph_add_tensor(g, "z", &z));
  ir_tensor *tx = &g->tensors[x];
  tx->role = IR_ROLE_INPUT;
  tx->dtype = IR_F32;
  tx->shape = (ir_shape){2, {-1, 4}};
  tx->shape_known = true;
  g->inputs = ir_arena_calloc(&g->arena, 1, sizeof *g->inputs);
  g->inputs[g->n_inputs++] = x;
  g->outputs = ir_arena_calloc(&g->arena, 1, sizeof *g->outputs);
  g->outputs[g->n_outputs++] = z;
  ir_tensor_id in1[] = {x}, out1[] = {y}, in2[] = {y}, out2[] = {z};
  /* Out of order on purpose: z's producer comes before y's. */
  CHECK_OK(ir_graph_add_node(g, IR_OP_RELU, "second", in2, 1, out2, 1, NULL));
  CHECK_OK(ir_graph_add_node(g, IR_OP_RELU, "first", in1, 1, out1, 1, NULL));
  s = ir_verify(g);
  CHECK(s && strstr(ingot_status_message(s), "node 'second'") &&
        strstr(ingot_status_message(s), "used before it is defined"));
  ingot_status_free(s);
  /* Swap into order: now valid; shapes infer with the unknown batch. */
  ir_node tmp = g->nodes[1];
  g->nodes[1] = g->nodes[2];
  g->nodes[2] = tmp;
  g->tensors[y].producer = 1;
  g->tensors[z].producer = 2;
  CHECK_OK(ir_verify(g));
  CHECK_OK(ir_infer_shapes(g));
  CHECK(g->tensors[z].shape_known && g->tensors[z].shape.rank == 2 &&
        g->tensors[z].shape.dims[0] < 0 && g->tensors[z].shape.dims[1] == 4);
  /* Run it: Relu of a 3x4 input. */
  float xs[12], zs_expect[12];
  for (int i = 0; i < 12; i++) {
    xs[i] = (float)(i - 6);
    zs_expect[i] = xs[i] > 0 ? xs[i] : 0;
  }
  ir_value in = {IR_F32, {2, {3, 4}}, xs, true}, out = {0};
  CHECK_OK(ir_interp_run(g, &in, &out, NULL));
  CHECK(out.data && memcmp(out.data, zs_expect, sizeof zs_expect) == 0);
  ir_value_free(&out);
  ir_graph_destroy(g);
}

static void test_broadcast(void) {
  ir_node n = {.op = IR_OP_ADD, .name = "add"};
  ir_shape a = {3, {2, 1, 4}}, b = {2, {3, 1}}, c = {2, {3, 5}}, out;
  const ir_shape *ab[] = {&a, &b};
  CHECK_OK(ref_broadcast(&n, ab, 2, &out));
  CHECK(out.rank == 3 && out.dims[0] == 2 && out.dims[1] == 3 &&
        out.dims[2] == 4);
  const ir_shape *ac[] = {&a, &c};
  ingot_status s = ref_broadcast(&n, ac, 2, &out);
  CHECK(s && strstr(ingot_status_message(s), "do not broadcast"));
  ingot_status_free(s);
  int64_t st[IR_MAX_RANK];
  ir_shape o = {3, {2, 3, 4}};
  ref_bcast_strides(&b, &o, st);
  CHECK(st[0] == 0 && st[1] == 1 && st[2] == 0);
  /* the odometer visits offsets in order */
  int64_t strides[1][IR_MAX_RANK] = {{0, 1, 0}};
  ref_iter it;
  ref_iter_init(&it, &o, 1, strides);
  int64_t sum = 0;
  for (int i = 0; i < 24; i++, ref_iter_next(&it)) sum += it.off[0];
  CHECK(sum == 2 * 4 * (0 + 1 + 2));
}

static void test_npy(const char *tmpdir) {
  char path[1024];
  snprintf(path, sizeof path, "%s/roundtrip.npy", tmpdir);
  int16_t data[6] = {1, -2, 3, -4, 5, -6};
  ir_value v = {IR_I16, {2, {2, 3}}, data, true}, r = {0};
  CHECK_OK(ir_write_npy(path, &v));
  CHECK_OK(ir_read_npy(path, &r));
  CHECK(r.dtype == IR_I16 && ir_shape_equal(&r.shape, &v.shape));
  CHECK(r.data && memcmp(r.data, data, sizeof data) == 0);
  ir_value_free(&r);
  ir_value scalar = {IR_F64, {0, {0}}, &(double){2.5}, true};
  CHECK_OK(ir_write_npy(path, &scalar));
  CHECK_OK(ir_read_npy(path, &r));
  CHECK(r.shape.rank == 0 && r.data && *(double *)r.data == 2.5);
  ir_value_free(&r);
}

int main(int argc, char **argv) {
  const char *tmp = argc > 1 ? argv[1] : ".";
  test_arena();
  test_dtypes();
  test_graph_and_verify();
  test_broadcast();
  test_npy(tmp);
  return check_report("test_ir");
}
