/* main.c — the ingot command.
 *
 * One binary, one subcommand per job (like git or trtexec's modes):
 *   ingot run MODEL.onnx --reference --input NAME=FILE ...   run a model
 *   ingot inspect MODEL.onnx                                  describe it
 * Every failure prints "ingot: <file/node/tensor>: <reason>" on stderr and
 * exits with 1; usage errors exit with 2.  This file is the only place in
 * Ingot allowed to call exit().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ir.h"

#define INGOT_VERSION "0.1.0"

static int fail(ingot_status s) {
  fprintf(stderr, "ingot: %s\n", ingot_status_message(s));
  ingot_status_free(s);
  return 1;
}

static int usage_error(const char *cmd, const char *fmt, const char *arg) {
  fprintf(stderr, "ingot %s: ", cmd);
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(see 'ingot %s --help')\n", cmd);
  return 2;
}

/*===--- help texts ----------------------------------------------------===*/

static const char *const help_main =
    "ingot " INGOT_VERSION " — ahead-of-time engine compiler for neural "
    "networks\n"
    "\n"
    "usage: ingot COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  run       run an ONNX model through the reference interpreter\n"
    "  inspect   describe an ONNX model: inputs, outputs, ops, parameters\n"
    "  help      show help for a command ('ingot help run')\n"
    "\n"
    "'ingot COMMAND --help' shows a command's options.\n";

static const char *const help_run =
    "usage: ingot run MODEL.onnx --reference --input NAME=FILE [...]\n"
    "                 [--output DIR] [--shapes NAME:DIMS[,NAME:DIMS...]]\n"
    "                 [--top K]\n"
    "\n"
    "Runs MODEL through Ingot's reference interpreter (plain C, the\n"
    "semantics every generated kernel is tested against).\n"
    "\n"
    "  --reference          use the reference interpreter (required: the\n"
    "                       engine path arrives with 'ingot build')\n"
    "  --input NAME=FILE    value of graph input NAME from a NumPy .npy\n"
    "                       file or an ONNX TensorProto .pb file; repeat for\n"
    "                       each input.  A model with one input also takes\n"
    "                       --input FILE.\n"
    "  --output DIR         write each output to DIR/<name>.npy\n"
    "  --shapes NAME:DIMS   fix symbolic input dims, e.g. input:1x3x224x224\n"
    "  --top K              print the K largest values (with their indices)\n"
    "                       of each output\n";

static const char *const help_inspect =
    "usage: ingot inspect MODEL.onnx [--shapes NAME:DIMS] [--dump]\n"
    "\n"
    "Prints the model's opset and producer, its inputs and outputs with\n"
    "dtypes and shapes, a histogram of its ops and its parameter count.\n"
    "\n"
    "  --shapes NAME:DIMS   fix symbolic input dims before shape inference\n"
    "  --dump               also print the whole graph as text, one node a\n"
    "                       line, with inferred shapes\n";

/*===--- shared option parsing ----------------------------------------===*/

enum { MAX_SHAPES = 32, MAX_INPUTS = 64 };

typedef struct shape_opts {
  ir_shape_override v[MAX_SHAPES];
  int n;
} shape_opts;

/* Parses "name:1x3x224x224[,name2:...]". */
static ingot_status parse_shapes(const char *arg, shape_opts *o) {
  char *copy = strdup(arg);
  if (!copy) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  ingot_status s = NULL;
  char *save = NULL;
  for (char *item = strtok_r(copy, ",", &save); item && !s;
       item = strtok_r(NULL, ",", &save)) {
    char *colon = strrchr(item, ':');
    if (!colon || colon == item || !colon[1]) {
      s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                            "--shapes: '%s' is not NAME:DIMS (e.g. "
                            "input:1x3x224x224)",
                            item);
      break;
    }
    if (o->n == MAX_SHAPES) {
      s = ingot_make_status(INGOT_OUT_OF_RANGE, "--shapes: too many inputs");
      break;
    }
    *colon = 0;
    ir_shape_override *ov = &o->v[o->n];
    ov->name = strdup(item);
    ov->shape.rank = 0;
    char *p = colon + 1;
    while (*p && !s) {
      char *end;
      errno = 0;
      long long d = strtoll(p, &end, 10);
      if (end == p || errno || d < 0 || ov->shape.rank == IR_MAX_RANK ||
          (*end && *end != 'x')) {
        s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                              "--shapes: bad dims '%s' for '%s'", colon + 1,
                              item);
        break;
      }
      ov->shape.dims[ov->shape.rank++] = d;
      p = *end ? end + 1 : end;
    }
    if (!ov->name && !s)
      s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
    o->n++;
  }
  free(copy);
  return s;
}

static void free_shapes(shape_opts *o) {
  for (int i = 0; i < o->n; i++) free((char *)o->v[i].name);
}

static bool has_suffix(const char *s, const char *suf) {
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && strcmp(s + n - m, suf) == 0;
}

static ingot_status load_model(const char *path, const shape_opts *so,
                               ir_graph **g) {
  ir_import_options opt = {so->v, so->n, NULL};
  if (!has_suffix(path, ".onnx"))
    return ingot_make_status(INGOT_UNIMPLEMENTED,
                             "%s: this version of ingot reads ONNX models "
                             "(.onnx)",
                             path);
  return ir_import_onnx_file(path, &opt, g);
}

static ingot_status load_tensor_file(const char *path, ir_value *v) {
  if (has_suffix(path, ".pb")) return ir_read_tensor_pb(path, v, NULL);
  return ir_read_npy(path, v);
}

/*===--- ingot run ----------------------------------------------------===*/

static void print_top(const char *name, const ir_value *v, int k) {
  size_t n = ir_shape_numel(&v->shape);
  if ((size_t)k > n) k = (int)n;
  bool *taken = calloc(n ? n : 1, 1);
  if (!taken) return;
  printf("top-%d of '%s':\n", k, name);
  for (int r = 0; r < k; r++) {
    size_t best = 0;
    double bv = 0;
    bool found = false;
    for (size_t i = 0; i < n; i++) {
      double x = ir_load_f64(v->dtype, v->data, i);
      if (!taken[i] && (!found || x > bv)) {
        best = i;
        bv = x;
        found = true;
      }
    }
    taken[best] = true;
    printf("  #%d  index %zu  value %.6g\n", r + 1, best, bv);
  }
  free(taken);
}

static void output_file_name(char *buf, size_t n, const char *dir,
                             const char *name) {
  size_t used = (size_t)snprintf(buf, n, "%s/", dir);
  for (const char *p = name; *p && used + 5 < n; p++)
    buf[used++] = (*p == '/' || *p == '\\' || *p == ':') ? '_' : *p;
  snprintf(buf + used, n - used, ".npy");
}

static int cmd_run(int argc, char **argv) {
  const char *model = NULL, *outdir = NULL;
  const char *input_args[MAX_INPUTS];
  int n_input_args = 0, top = 0;
  bool reference = false;
  shape_opts so = {0};
  int rc = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(help_run, stdout);
      return 0;
    } else if (strcmp(a, "--reference") == 0) {
      reference = true;
    } else if (strcmp(a, "--input") == 0 && i + 1 < argc) {
      if (n_input_args == MAX_INPUTS) return usage_error("run", "%s", "too many --input");
      input_args[n_input_args++] = argv[++i];
    } else if (strcmp(a, "--output") == 0 && i + 1 < argc) {
      outdir = argv[++i];
    } else if (strcmp(a, "--top") == 0 && i + 1 < argc) {
      top = atoi(argv[++i]);
      if (top <= 0) return usage_error("run", "--top needs a positive number, not '%s'", argv[i]);
    } else if (strcmp(a, "--shapes") == 0 && i + 1 < argc) {
      ingot_status s = parse_shapes(argv[++i], &so);
      if (s) {
        free_shapes(&so);
        return fail(s);
      }
    } else if (a[0] == '-') {
      free_shapes(&so);
      return usage_error("run", "unknown or incomplete option '%s'", a);
    } else if (!model) {
      model = a;
    } else {
      free_shapes(&so);
      return usage_error("run", "unexpected argument '%s'", a);
    }
  }
  if (!model) {
    free_shapes(&so);
    return usage_error("run", "%s", "missing MODEL");
  }
  if (!reference) {
    free_shapes(&so);
    return usage_error("run",
                       "running '%s' needs --reference (this version runs "
                       "ONNX models through the reference interpreter)",
                       model);
  }
  ir_graph *g = NULL;
  ingot_status s = load_model(model, &so, &g);
  free_shapes(&so);
  if (s) return fail(s);

  ir_value *inputs = calloc(g->n_inputs + 1, sizeof *inputs);
  ir_value *outputs = calloc(g->n_outputs + 1, sizeof *outputs);
  if (!inputs || !outputs)
    s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; !s && i < n_input_args; i++) {
    const char *arg = input_args[i];
    const char *eq = strchr(arg, '=');
    uint32_t slot = 0;
    const char *file = arg;
    if (eq) {
      char name[1024];
      snprintf(name, sizeof name, "%.*s", (int)(eq - arg), arg);
      file = eq + 1;
      ir_tensor_id id = ir_graph_find_tensor(g, name);
      slot = g->n_inputs;
      for (uint32_t k = 0; k < g->n_inputs; k++)
        if (g->inputs[k] == id) slot = k;
      if (slot == g->n_inputs) {
        s = ingot_make_status(INGOT_NOT_FOUND,
                              "--input: '%s' is not an input of %s", name,
                              model);
        break;
      }
    } else if (g->n_inputs != 1) {
      s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                            "--input %s: the model has %u inputs; write "
                            "NAME=FILE",
                            arg, g->n_inputs);
      break;
    }
    ir_value_free(&inputs[slot]);
    s = load_tensor_file(file, &inputs[slot]);
    if (!s && inputs[slot].dtype != g->tensors[g->inputs[slot]].dtype &&
        ir_dtype_get(inputs[slot].dtype)->is_float &&
        ir_dtype_get(g->tensors[g->inputs[slot]].dtype)->is_float) {
      /* float64 .npy for a float32 input: convert, as users expect. */
      ir_value conv = {g->tensors[g->inputs[slot]].dtype, inputs[slot].shape,
                       NULL, false};
      s = ir_value_alloc(&conv);
      for (size_t k = 0; !s && k < ir_shape_numel(&conv.shape); k++)
        ir_store_f64(conv.dtype, conv.data, k,
                     ir_load_f64(inputs[slot].dtype, inputs[slot].data, k));
      if (!s) {
        ir_value_free(&inputs[slot]);
        inputs[slot] = conv;
      }
    }
    if (s)
      s = ingot_status_annotate(s, "--input %s: ",
                                g->tensors[g->inputs[slot]].name);
  }
  for (uint32_t k = 0; !s && k < g->n_inputs; k++)
    if (inputs[k].dtype == IR_DT_UNDEF)
      s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                            "no --input for graph input '%s'",
                            g->tensors[g->inputs[k]].name);
  if (!s) s = ir_interp_run(g, inputs, outputs, NULL);
  if (!s && outdir) {
    mkdir(outdir, 0777);
    for (uint32_t k = 0; !s && k < g->n_outputs; k++) {
      char path[4096];
      output_file_name(path, sizeof path, outdir,
                       g->tensors[g->outputs[k]].name);
      s = ir_write_npy(path, &outputs[k]);
      if (!s) printf("wrote %s\n", path);
    }
  }
  for (uint32_t k = 0; !s && k < g->n_outputs; k++) {
    char b[128];
    printf("output '%s': %s[%s]\n", g->tensors[g->outputs[k]].name,
           ir_dtype_name(outputs[k].dtype),
           ir_shape_str(&outputs[k].shape, b, sizeof b));
    if (top) print_top(g->tensors[g->outputs[k]].name, &outputs[k], top);
  }
  if (s) rc = fail(s);
  for (uint32_t k = 0; inputs && k < g->n_inputs; k++) ir_value_free(&inputs[k]);
  for (uint32_t k = 0; outputs && k < g->n_outputs; k++)
    ir_value_free(&outputs[k]);
  free(inputs);
  free(outputs);
  ir_graph_destroy(g);
  return rc;
}

/*===--- ingot inspect ------------------------------------------------===*/

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

static int cmd_inspect(int argc, char **argv) {
  const char *model = NULL;
  bool dump = false;
  shape_opts so = {0};
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(help_inspect, stdout);
      return 0;
    } else if (strcmp(a, "--dump") == 0) {
      dump = true;
    } else if (strcmp(a, "--shapes") == 0 && i + 1 < argc) {
      ingot_status s = parse_shapes(argv[++i], &so);
      if (s) {
        free_shapes(&so);
        return fail(s);
      }
    } else if (a[0] == '-') {
      free_shapes(&so);
      return usage_error("inspect", "unknown or incomplete option '%s'", a);
    } else if (!model) {
      model = a;
    } else {
      free_shapes(&so);
      return usage_error("inspect", "unexpected argument '%s'", a);
    }
  }
  if (!model) return usage_error("inspect", "%s", "missing MODEL");
  ir_graph *g;
  ingot_status s = load_model(model, &so, &g);
  free_shapes(&so);
  if (s) return fail(s);
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

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(help_main, stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    fputs(help_main, stdout);
    return 0;
  }
  if (strcmp(cmd, "--version") == 0) {
    printf("ingot %s\n", INGOT_VERSION);
    return 0;
  }
  if (strcmp(cmd, "help") == 0) {
    const char *what = argc > 2 ? argv[2] : "";
    if (strcmp(what, "run") == 0) fputs(help_run, stdout);
    else if (strcmp(what, "inspect") == 0) fputs(help_inspect, stdout);
    else fputs(help_main, stdout);
    return 0;
  }
  if (strcmp(cmd, "run") == 0) return cmd_run(argc - 2, argv + 2);
  if (strcmp(cmd, "inspect") == 0) return cmd_inspect(argc - 2, argv + 2);
  fprintf(stderr, "ingot: unknown command '%s'\n\n", cmd);
  fputs(help_main, stderr);
  return 2;
}
