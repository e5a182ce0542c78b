/* test_fuse.c — the fusion passes (passes/fuse_gelu.c, fuse_layernorm.c,
 * fuse_reduce.c) on the small models of make_fuse_models.py: every pattern form fuses to
 * one op, every near miss stays as it was, and the fused graph's reference
 * outputs equal the unfused graph's within 1e-5 (relative, at least 1e-5
 * absolute): Gelu and LayerNormalization compute in double where the
 * subgraphs round every step to float.  With --no-fuse (no_fuse) nothing
 * changes.
 *
 * usage: test_fuse DIR CASE...   (DIR/CASE.onnx, DIR/CASE.expect)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "ir.h"
#include "passes.h"

static int count_op(const ir_graph *g, const char *op) {
  int n = 0;
  for (ir_node_id k = 1; k < g->n_nodes; k++)
    n += strcmp(ir_op_get(g->nodes[k].op)->name, op) == 0;
  return n;
}

static void passes(ir_graph *g, bool no_fuse) {
  pass_options po = {.verify = true, .no_fuse = no_fuse};
  CHECK_OK(pass_fold(g, &po));
  CHECK_OK(pass_simplify(g, &po));
  CHECK_OK(pass_static_shapes(g, &po));
  CHECK_OK(pass_fuse_gelu(g, &po));
  CHECK_OK(ir_verify(g));
  CHECK_OK(pass_fuse_layernorm(g, &po));
  CHECK_OK(ir_verify(g));
  CHECK_OK(pass_fuse_reduce(g, &po));
  CHECK_OK(ir_verify(g));
}

static void check_case(const char *dir, const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
  ir_graph *g = NULL, *h = NULL, *u = NULL;
  CHECK_OK(ir_import_onnx_file(path, NULL, &g));
  CHECK_OK(ir_import_onnx_file(path, NULL, &h));
  CHECK_OK(ir_import_onnx_file(path, NULL, &u));
  if (!g || !h || !u) return;
  /* x: deterministic values over [-4, 4) */
  ir_value x = {.dtype = IR_F32, .shape = g->tensors[g->inputs[0]].shape};
  CHECK_OK(ir_value_alloc(&x));
  float *xs = x.data;
  size_t nx = ir_shape_numel(&x.shape);
  for (size_t i = 0; i < nx; i++)
    xs[i] = (float)((i * 37 + 11) % 97) / 12.0f - 4.0f;
  ir_value a[2] = {{0}}, b[2] = {{0}};
  CHECK_OK(ir_interp_run(g, &x, a, NULL));
  passes(u, true);
  passes(h, false);
  CHECK(u->n_nodes == g->n_nodes); /* --no-fuse: nothing fused */
  CHECK_OK(ir_interp_run(h, &x, b, NULL));
  int nodes_before = (int)g->n_nodes - 1, nodes_after = (int)h->n_nodes - 1;
  /* the expected op counts */
  snprintf(path, sizeof path, "%s/%s.expect", dir, name);
  FILE *f = fopen(path, "r");
  CHECK(f != NULL);
  char op[64];
  int want;
  while (f && fscanf(f, "%63s %d", op, &want) == 2) {
    int got = count_op(h, op);
    if (got != want) {
      fprintf(stderr, "%s: %d %s node(s) after fusion, expected %d\n", name,
              got, op, want);
      check_failures++;
    }
  }
  if (f) fclose(f);
  double worst = 0;
  for (uint32_t k = 0; k < g->n_outputs && k < 2; k++) {
    CHECK(a[k].data && b[k].data);
    size_t n = a[k].data && b[k].data ? ir_shape_numel(&a[k].shape) : 0;
    for (size_t i = 0; i < n; i++) {
      double p = ((float *)a[k].data)[i], q = ((float *)b[k].data)[i];
      double e = fabs(p - q) / fmax(1.0, fabs(p));
      if (e > worst) worst = e;
      if (!(e <= 1e-5)) {
        fprintf(stderr, "%s: output %u[%zu]: %.9g fused, %.9g unfused\n",
                name, k, i, q, p);
        check_failures++;
        break;
      }
    }
    ir_value_free(&a[k]);
    ir_value_free(&b[k]);
  }
  printf("%-20s %2d nodes -> %2d, max rel diff %.2g\n", name, nodes_before,
         nodes_after, worst);
  ir_value_free(&x);
  ir_graph_destroy(g);
  ir_graph_destroy(h);
  ir_graph_destroy(u);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test_fuse DIR CASE...\n");
    return 2;
  }
  for (int i = 2; i < argc; i++) check_case(argv[1], argv[i]);
  return check_report("test_fuse");
}
