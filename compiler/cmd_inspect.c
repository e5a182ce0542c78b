/* cmd_inspect.c — ingot inspect: describes a model (inputs, outputs, op
 * histogram, parameters, optionally its whole graph) or an engine
 * (inspect_engine.c: header and compatibility, memory plan, steps with
 * provenance and precision, fusions, build info, --json, --ir, --disasm).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ingot/ingot.h"
#include "inspect.h"

static const char *const help_inspect =
    "usage: ingot inspect MODEL.onnx|MODEL.xml [--shapes NAME:DIMS] [--dump]\n"
    "       ingot inspect ENGINE [--json]\n"
    "       ingot inspect ENGINE --check\n"
    "       ingot inspect ENGINE --disasm STEP [--att]\n"
    "       ingot inspect ENGINE --ir STEP\n"
    "       ingot inspect ENGINE --memory\n"
    "\n"
    "For a model: its opset and producer, inputs and outputs with dtypes\n"
    "and shapes, a histogram of its ops and its parameter count.\n"
    "For an engine: format, producer, target CPU and the features it\n"
    "needs, whether this machine can run it (and why not), its sections,\n"
    "the memory plan (arena peak against the naive sum), inputs and outputs,\n"
    "every step (op, kernel, precision, tasks, work, the model nodes it\n"
    "computes), the precision requested and why each step has its own, the\n"
    "nodes passes fused, and the build info.  An engine built for another\n"
    "CPU is described too.\n"
    "\n"
    "  --shapes NAME:DIMS   fix symbolic input dims before shape inference\n"
    "  --dump               also print the whole graph as text, one node a\n"
    "                       line, with inferred shapes\n"
    "  --json               engine: the same report as JSON\n"
    "                       (docs/inspect-format.md)\n"
    "  --check              engine: only say whether this machine can run it\n"
    "                       (reads the header only; exit 1 if not, naming\n"
    "                       the missing CPU features)\n"
    "  --disasm STEP        engine: disassemble STEP's machine code (Intel\n"
    "                       syntax; --att for AT&T), relocations annotated;\n"
    "                       STEP is an index, a symbol (ingot_step_3) or a\n"
    "                       model node name\n"
    "  --ir STEP            engine: STEP's optimised LLVM IR (engines built\n"
    "                       with ingot build --keep-ir)\n"
    "  --memory             engine: the memory plan tensor by tensor (arena\n"
    "                       place, the step that writes it, the step whose\n"
    "                       output reuses its bytes), peak against naive sum\n";

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
  inspect_opts io = {0};
  cli_shapes so = {0};
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(help_inspect, stdout);
      return 0;
    } else if (strcmp(a, "--dump") == 0) {
      dump = true;
    } else if (strcmp(a, "--check") == 0) {
      io.check = true;
    } else if (strcmp(a, "--json") == 0) {
      io.json = true;
    } else if (strcmp(a, "--memory") == 0) {
      io.memory = true;
    } else if (strcmp(a, "--att") == 0) {
      io.att = true;
    } else if (strcmp(a, "--disasm") == 0 && i + 1 < argc) {
      io.disasm_step = argv[++i];
    } else if (strcmp(a, "--ir") == 0 && i + 1 < argc) {
      io.ir_step = argv[++i];
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
  bool is_model =
      cli_has_suffix(model, ".onnx") || cli_has_suffix(model, ".xml");
  const char *engine_only = io.check         ? "--check"
                            : io.json        ? "--json"
                            : io.disasm_step ? "--disasm"
                            : io.ir_step     ? "--ir"
                            : io.att         ? "--att"
                            : io.memory      ? "--memory"
                                             : NULL;
  if (is_model && engine_only) {
    cli_free_shapes(&so);
    return cli_usage_error("inspect", "%s applies to engines, not models",
                           engine_only);
  }
  if (!is_model) {
    int modes = io.check + !!io.disasm_step + !!io.ir_step + io.memory;
    cli_free_shapes(&so);
    if (modes > 1 || (io.json && modes))
      return cli_usage_error("inspect", "%s",
                             "--check, --disasm, --ir, --memory and --json "
                             "are separate reports: give one");
    if (io.att && !io.disasm_step)
      return cli_usage_error("inspect", "%s", "--att goes with --disasm");
    if (dump)
      return cli_usage_error("inspect", "%s", "--dump applies to models");
    return inspect_engine(model, &io);
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

