/* cmd_inspect.c — ingot inspect: describes a model (inputs, outputs, op
 * histogram, parameters, optionally its whole graph) or an engine (header,
 * compatibility with this machine, I/O, memory, and every step with the
 * kernel it runs and the model nodes it computes). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ingot/ingot.h"

static const char *const help_inspect =
    "usage: ingot inspect MODEL.onnx|MODEL.xml [--shapes NAME:DIMS] [--dump]\n"
    "       ingot inspect ENGINE [--check]\n"
    "\n"
    "For a model: its opset and producer, inputs and outputs with dtypes\n"
    "and shapes, a histogram of its ops and its parameter count.\n"
    "For an engine: format, producer, target CPU and the features it\n"
    "needs, whether this machine can run it, inputs and outputs, arena,\n"
    "weights and code sizes, and every step (op, kernel, tasks, work,\n"
    "source nodes), then the build info.\n"
    "\n"
    "  --shapes NAME:DIMS   fix symbolic input dims before shape inference\n"
    "  --dump               also print the whole graph as text, one node a\n"
    "                       line, with inferred shapes\n"
    "  --check              engine: only say whether this machine can run it\n"
    "                       (reads the header only; exit 1 if not)\n";

static void print_info_line(const char *what, const ingot_tensor_info *t) {
  printf("  %-6s %-24s %-8s [", what, t->name,
         ir_dtype_name((ir_dtype)t->dtype));
  for (int d = 0; d < t->rank; d++) printf("%s%lld", d ? ", " : "", t->dims[d]);
  printf("]\n");
}

static int inspect_engine(const char *path, bool check_only) {
  ingot_status s = ingot_engine_check_file(path);
  if (check_only) {
    if (s) return cli_fail(s);
    printf("%s: this machine can run it\n", path);
    return 0;
  }
  char why[1024];
  snprintf(why, sizeof why, "%s", s ? ingot_status_message(s) : "yes");
  ingot_status_free(s);
  ingot_engine *e = NULL;
  s = ingot_engine_load_file(path, &e);
  if (s) {
    fprintf(stderr, "runs here: %s\n", why);
    return cli_fail(s);
  }
  ingot_engine_info info;
  ingot_engine_get_info(e, &info);
  char feats[512];
  printf("engine      %s\n", path);
  printf("format      %u.%u, %zu bytes, content hash %016llx\n",
         info.format_major, info.format_minor, info.file_size,
         info.content_hash);
  printf("producer    %s\n", info.producer);
  printf("target      %s, cpu %s\n", info.target_triple, info.target_cpu);
  printf("needs       %s\n",
         ingot_cpu_feature_names(info.cpu_features, feats, sizeof feats));
  printf("runs here   %s\n", why);
  printf("memory      arena %zu bytes, weights %zu bytes, code %zu bytes\n",
         info.arena_size, info.weights_size, info.code_size);
  printf("inputs and outputs:\n");
  for (int i = 0; i < ingot_engine_input_count(e); i++) {
    ingot_tensor_info t;
    if (!ingot_engine_input_info(e, i, &t)) print_info_line("input", &t);
  }
  for (int i = 0; i < ingot_engine_output_count(e); i++) {
    ingot_tensor_info t;
    if (!ingot_engine_output_info(e, i, &t)) print_info_line("output", &t);
  }
  printf("steps (%d):\n", info.step_count);
  printf("  %-4s %-40s %-24s %7s %12s %12s  %s\n", "#", "op", "kernel",
         "tasks", "ops", "bytes", "model nodes");
  for (int i = 0; i < info.step_count; i++) {
    ingot_step_info st;
    if (ingot_engine_step_info(e, i, &st)) continue;
    char prov[256];
    snprintf(prov, sizeof prov, "%s", st.provenance);
    for (char *c = prov; *c; c++)
      if (*c == '\n') *c = ',';
    printf("  %-4d %-40.40s %-24.24s %7lld %12llu %12llu  %s\n", i, st.op,
           st.kernel, st.tasks, st.ops, st.bytes, prov);
  }
  if (info.build_info && *info.build_info)
    printf("build info:\n%s", info.build_info);
  ingot_engine_release(e);
  return 0;
}

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
  bool dump = false, check = false;
  cli_shapes so = {0};
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(help_inspect, stdout);
      return 0;
    } else if (strcmp(a, "--dump") == 0) {
      dump = true;
    } else if (strcmp(a, "--check") == 0) {
      check = true;
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
  if (!cli_has_suffix(model, ".onnx") && !cli_has_suffix(model, ".xml")) {
    cli_free_shapes(&so);
    return inspect_engine(model, check);
  }
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

