/* cmd_run.c — ingot run: runs an engine with libingot_rt, or a model
 * through the reference interpreter, on .npy/.pb inputs; writes .npy
 * outputs and prints a top-K summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "engine_io.h"

static const char *const help_run =
    "usage: ingot run ENGINE --input NAME=FILE [...] [--output DIR]\n"
    "                 [--threads N] [--top K]\n"
    "       ingot run MODEL.onnx|MODEL.xml --reference --input NAME=FILE\n"
    "                 [...] [--output DIR] [--shapes NAME:DIMS[,...]]\n"
    "                 [--top K]\n"
    "\n"
    "Runs an engine built by 'ingot build' with libingot_rt, or a model\n"
    "through Ingot's reference interpreter (plain C, the semantics every\n"
    "generated kernel is tested against).\n"
    "\n"
    "  --input NAME=FILE    value of input NAME from a NumPy .npy file or an\n"
    "                       ONNX TensorProto .pb file; repeat for each input.\n"
    "                       With one input, --input FILE is enough.\n"
    "  --output DIR         write each output to DIR/<name>.npy\n"
    "  --top K              print the K largest values (with their indices)\n"
    "                       of each output\n"
    "  --threads N          engine: threads to run on (default: all CPUs)\n"
    "  --device cpu|cuda    engine: run on the CPU (default) or, for engines\n"
    "                       built with --target cuda, on GPU 0 through\n"
    "                       libcuda (docs/gpu.md)\n"
    "  --cuda-graph         with --device cuda: capture the kernel launches\n"
    "                       in a CUDA Graph and replay it\n"
    "  --reference          run MODEL (.onnx or .xml) in the reference\n"
    "                       interpreter\n"
    "  --shapes NAME:DIMS   reference: fix symbolic input dims\n";

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

static int run_engine(const char *path, const char *const *inputs, int n,
                      const char *outdir, int top, int threads,
                      const char *device, bool graph) {
  ingot_engine *e = NULL;
  ingot_session *s = NULL;
  ingot_status st = eio_open_device(path, threads, device, &e, &s);
  if (!st && graph) st = ingot_session_set_cuda_graph(s, 1);
  if (!st) st = eio_set_inputs(e, s, inputs, n, true);
  if (!st) st = ingot_session_run(s);
  if (!st && outdir) mkdir(outdir, 0777);
  for (int k = 0; !st && k < ingot_engine_output_count(e); k++) {
    ir_value v;
    ingot_tensor_info info;
    st = ingot_engine_output_info(e, k, &info);
    if (!st) st = eio_get_output(e, s, k, &v);
    if (st) break;
    if (outdir) {
      char file[4096];
      output_file_name(file, sizeof file, outdir, info.name);
      st = ir_write_npy(file, &v);
      if (!st) printf("wrote %s\n", file);
    }
    char b[128];
    if (!st) {
      printf("output '%s': %s[%s]\n", info.name, ir_dtype_name(v.dtype),
             ir_shape_str(&v.shape, b, sizeof b));
      if (top) print_top(info.name, &v, top);
    }
    ir_value_free(&v);
  }
  ingot_session_destroy(s);
  ingot_engine_release(e);
  return st ? cli_fail(st) : 0;
}

int cmd_run(int argc, char **argv) {
  const char *model = NULL, *outdir = NULL, *device = NULL;
  const char *input_args[CLI_MAX_INPUTS] = {0};
  int n_input_args = 0, top = 0, threads = 0;
  bool reference = false, graph = false;
  cli_shapes so = {0};
  int rc = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(help_run, stdout);
      return 0;
    } else if (strcmp(a, "--reference") == 0) {
      reference = true;
    } else if (strcmp(a, "--cuda-graph") == 0) {
      graph = true;
    } else if (strcmp(a, "--input") == 0 && i + 1 < argc) {
      if (n_input_args == CLI_MAX_INPUTS) return cli_usage_error("run", "%s", "too many --input");
      input_args[n_input_args++] = argv[++i];
    } else if (strcmp(a, "--output") == 0 && i + 1 < argc) {
      outdir = argv[++i];
    } else if (strcmp(a, "--device") == 0 && i + 1 < argc) {
      device = argv[++i];
    } else if (strcmp(a, "--threads") == 0 && i + 1 < argc) {
      threads = atoi(argv[++i]);
      if (threads <= 0)
        return cli_usage_error("run", "--threads needs a positive number, not '%s'", argv[i]);
    } else if (strcmp(a, "--top") == 0 && i + 1 < argc) {
      top = atoi(argv[++i]);
      if (top <= 0) return cli_usage_error("run", "--top needs a positive number, not '%s'", argv[i]);
    } else if (strcmp(a, "--shapes") == 0 && i + 1 < argc) {
      ingot_status s = cli_parse_shapes(argv[++i], &so);
      if (s) {
        cli_free_shapes(&so);
        return cli_fail(s);
      }
    } else if (a[0] == '-') {
      cli_free_shapes(&so);
      return cli_usage_error("run", "unknown or incomplete option '%s'", a);
    } else if (!model) {
      model = a;
    } else {
      cli_free_shapes(&so);
      return cli_usage_error("run", "unexpected argument '%s'", a);
    }
  }
  if (!model) {
    cli_free_shapes(&so);
    return cli_usage_error("run", "%s", "missing MODEL");
  }
  if (!reference) {
    cli_free_shapes(&so);
    if (cli_has_suffix(model, ".onnx") || cli_has_suffix(model, ".xml"))
      return cli_usage_error("run",
                             "'%s' is a model: build an engine with 'ingot "
                             "build', or run it with --reference",
                             model);
    return run_engine(model, input_args, n_input_args, outdir, top, threads,
                      device, graph);
  }
  ir_graph *g = NULL;
  ingot_status s = cli_load_model(model, &so, &g);
  cli_free_shapes(&so);
  if (s) return cli_fail(s);

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
    s = cli_load_tensor(file, &inputs[slot]);
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
  if (s) rc = cli_fail(s);
  for (uint32_t k = 0; inputs && k < g->n_inputs; k++) ir_value_free(&inputs[k]);
  for (uint32_t k = 0; outputs && k < g->n_outputs; k++)
    ir_value_free(&outputs[k]);
  free(inputs);
  free(outputs);
  ir_graph_destroy(g);
  return rc;
}

