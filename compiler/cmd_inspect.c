/* cmd_inspect.c — ingot inspect: describes a model (inputs, outputs, op
 * histogram, parameters) and optionally dumps its graph. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const help_inspect =
    "usage: ingot inspect MODEL.onnx [--shapes NAME:DIMS] [--dump]\n"
    "\n"
    "Prints the model's opset and producer, its inputs and outputs with\n"
    "dtypes and shapes, a histogram of its ops and its parameter count.\n"
    "\n"
    "  --shapes NAME:DIMS   fix symbolic input dims before shape inference\n"
    "  --dump               also print the whole graph as text, one node a\n"
    "                       line, with inferred shapes\n";

static void print_tensor_line(const char *what, const ir_tensor *t) {
  char b[128];
  printf("  %-6s %-24s %-8s ", what, t->name, ir_dtype_name(t->dtype));
  if (!t->shape_known) {
    printf("[unknown rank]\n");
    return;
  }
  printf("[");
  for (int d = 0; d < t->shape.rank; d++) {
    if (t->shape.dims[d] >= 0)
      printf("%s%lld", d ? ", " : "", (long long)t->shape.dims[d]);
    else
      printf("%s%s", d ? ", " : "", t->dim_param[d] ? t->dim_param[d] : "?");
  }
  printf("]\n");
  (void)b;
}

int cmd_inspect(int argc, char **argv) {
  const char *model = NULL;
  bool dump = false;
  cli_shapes so = {0};
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(help_inspect, stdout);
      return 0;
    } else if (strcmp(a, "--dump") == 0) {
      dump = true;
    } else if (strcmp(a, "--shapes") == 0 && i + 1 < argc) {
      ingot_status s = cli_parse_shapes(argv[++i], &so);
      if (s) {
        cli_free_shapes(&so);
        return cli_fail(s);
      }
    } else if (a[0] == '-') {
      cli_free_shapes(&so);
      return cli_usage_error("inspect", "unknown or incomplete option '%s'", a);
    } else if (!model) {
      model = a;
    } else {
      cli_free_shapes(&so);
      return cli_usage_error("inspect", "unexpected argument '%s'", a);
    }
  }
  if (!model) return cli_usage_error("inspect", "%s", "missing MODEL");
  ir_graph *g;
  ingot_status s = cli_load_model(model, &so, &g);
  cli_free_shapes(&so);
  if (s) return cli_fail(s);
  printf("model     %s\n", model);
  printf("producer  %s\n", *g->producer ? g->producer : "(none)");
  printf("ir        %lld\n", (long long)g->ir_version);
  printf("opset     %lld\n", (long long)g->opset);
  printf("graph     %s\n", *g->name ? g->name : "(unnamed)");
  printf("inputs:\n");
  for (uint32_t i = 0; i < g->n_inputs; i++)
    print_tensor_line("input", &g->tensors[g->inputs[i]]);
  printf("outputs:\n");
  for (uint32_t i = 0; i < g->n_outputs; i++)
    print_tensor_line("output", &g->tensors[g->outputs[i]]);
  unsigned counts[IR_OP_COUNT] = {0};
  for (ir_node_id n = 1; n < g->n_nodes; n++) counts[g->nodes[n].op]++;
  printf("ops (%u nodes):\n", g->n_nodes - 1);
  for (;;) { /* by count, then name */
    int best = 0;
    for (int op = 1; op < IR_OP_COUNT; op++)
      if (counts[op] > counts[best] ||
          (counts[op] && counts[op] == counts[best] &&
           strcmp(ir_op_table[op].name, ir_op_table[best].name) < 0))
        best = op;
    if (!counts[best]) break;
    printf("  %-24s %u\n", ir_op_table[best].name, counts[best]);
    counts[best] = 0;
  }
  size_t params = 0, bytes = 0, n_const = 0;
  for (ir_tensor_id t = 1; t < g->n_tensors; t++)
    if (g->tensors[t].role == IR_ROLE_CONSTANT) {
      ir_value v;
      ir_tensor_as_value(&g->tensors[t], &v);
      params += ir_shape_numel(&v.shape);
      bytes += ir_value_nbytes(&v);
      n_const++;
    }
  printf("parameters %zu in %zu constant tensors (%.2f MiB)\n", params,
         n_const, (double)bytes / (1024.0 * 1024.0));
  if (dump) {
    printf("\n");
    ir_dump(g, stdout);
  }
  ir_graph_destroy(g);
  return 0;
}

