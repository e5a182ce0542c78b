/* cmd_build.c — ingot build: model in, engine file out.
 *
 * Built into the plugin libingot_build.so, the only part of the ingot
 * command that links LLVM; build_loader.c loads it on demand, so run,
 * bench and inspect start without LLVM in the process.
 *
 * Import (with --shapes and --const-input applied), run the pass pipeline,
 * plan, specialise every step with LLVM for the target CPU, write the
 * engine.  --verbose prints the pipeline and what each pass did;
 * --dump-ir STAGE writes the graph after that pass as XML IR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build.h"
#include "calibrate.h"
#include "cli.h"
#include "measure_latency.h"
#include "engine_format.h"
#include "gpu.h"
#include "passes.h"
#include "quantize.h"
#include "xml.h"

/* The default --calib-method (docs/int8.md "Calibration defaults"). */
#define INGOT_CALIB_DEFAULT CALIB_PERCENTILE
#define INGOT_CALIB_DEFAULT_NAME "percentile"

static const char *const help_build =
    "usage: ingot build MODEL -o ENGINE [--fp32 | --int8 [--calib DATA]]\n"
    "                   [--calib-method M] [--calib-cache FILE]\n"
    "                   [--preprocess SPEC] [--act-scheme u8|s8]\n"
    "                   [--layer-precision NAME=fp32|int8|bf16] [--strict-precision]\n"
    "                   [--accuracy-target sqnr=DB|top1=FRAC] [--best-effort]\n"
    "                   [--fallback-precision fp32|bf16]\n"
    "                   [--sensitivity-report FILE]\n"
    "                   [--mcpu CPU] [--amx auto|always|never]\n"
    "                   [--target cpu|cuda|cpu,cuda [--sm LIST]]\n"
    "                   [--shapes NAME:DIMS[,...]] [--const-input NAME=FILE]\n"
    "                   [--dump-ir STAGE] [--keep-ir [FILE.ll]] [--verbose]\n"
    "                   [--no-fuse]\n"
    "\n"
    "Compiles MODEL (.onnx or .xml) into an engine file for this machine's\n"
    "CPU (or --mcpu): every step of the plan becomes machine code\n"
    "specialised for its shapes.  A model with QuantizeLinear/\n"
    "DequantizeLinear (QDQ) or QLinear nodes builds to int8 with its own\n"
    "scales, with or without --int8 (docs/int8.md).\n"
    "\n"
    "  -o ENGINE             the engine file to write\n"
    "  --fp32                float32 kernels for float layers (the default)\n"
    "  --int8                int8 layers: calibrate on --calib DATA, insert\n"
    "                        QuantizeLinear/DequantizeLinear, fold to int8\n"
    "                        ops; layers with no int8 form stay float, and\n"
    "                        so does an Add, Mul or Concat read only by one\n"
    "                        (an attention mask's Add before Softmax).  The\n"
    "                        per-layer table (requested, chosen, why) goes to\n"
    "                        the --verbose log and the engine's BUILD_INFO\n"
    "  --calib DATA          calibration data: a directory (or file) of .npy,\n"
    "                        ONNX .pb tensors, or PNG/JPEG images\n"
    "  --calib-method M      minmax, percentile[=P] (P = 99.99), entropy or\n"
    "                        mse (default: " INGOT_CALIB_DEFAULT_NAME ")\n"
    "  --calib-cache FILE    reuse the ranges in FILE if it is valid for this\n"
    "                        model and data; write it otherwise\n"
    "  --preprocess SPEC     images: resize=256,crop=224,mean=a,b,c,std=a,b,c,\n"
    "                        layout=nchw\n"
    "  --act-scheme u8|s8    activations uint8 asymmetric (default) or int8\n"
    "                        symmetric; weights are int8 per channel\n"
    "  --layer-precision NAME=fp32|int8|bf16\n"
    "                        override layers (the model's node names; globs\n"
    "                        * ? [..] allowed; a name no node has is an\n"
    "                        error listing close ones); repeatable, the last\n"
    "                        match wins.  bf16: Conv (not depthwise),\n"
    "                        MatMul and Gemm on CPUs with AVX512-BF16; other\n"
    "                        layers and other CPUs run fp32 with a note\n"
    "  --strict-precision    fail instead of running a layer that was\n"
    "                        requested int8 (and has an int8 form) or bf16\n"
    "                        in float\n"
    "  --accuracy-target sqnr=DB|top1=FRAC\n"
    "                        rank layers by the output damage each does alone\n"
    "                        in int8 (on the calibration feeds), then keep the\n"
    "                        most damaging in fp32, fewest first, until the\n"
    "                        lowest output SQNR (dB) or the top-1 agreement\n"
    "                        with fp32 reaches the target on the held-out\n"
    "                        last quarter of --calib (docs/accuracy.md)\n"
    "  --best-effort         with an unreachable target: build the best\n"
    "                        configuration found instead of failing\n"
    "  --fallback-precision fp32|bf16\n"
    "                        what --accuracy-target falls layers back to\n"
    "                        (default fp32); bf16: Conv (not depthwise),\n"
    "                        MatMul and Gemm on CPUs with AVX512-BF16,\n"
    "                        others fp32\n"
    "  --sensitivity-report FILE\n"
    "                        write each layer's output SQNR when only it is\n"
    "                        int8: FILE (CSV) and an SVG bar chart beside it\n"
    "                        (FILE.csv -> FILE.svg, else FILE.svg)\n"
    "  --mcpu CPU            target CPU: native (default), x86-64,\n"
    "                        x86-64-v2, x86-64-v3, x86-64-v4, haswell,\n"
    "                        skylake-avx512, cascadelake, icelake-server,\n"
    "                        sapphirerapids, graniterapids\n"
    "  --amx auto|always|never\n"
    "                        where the target has AMX-INT8: int8 layers\n"
    "                        large enough to fill its tiles (auto, the\n"
    "                        default; docs/int8.md), every layer it can\n"
    "                        run, or none (AVX-512 VNNI instead)\n"
    "  --target cuda         also compile the steps for NVIDIA GPUs: PTX per\n"
    "                        --sm (and cubins when ptxas is found) in the\n"
    "                        engine; the plan is the generic x86-64 one, so\n"
    "                        the engine runs on the CPU too (cpu,cuda is the\n"
    "                        same).  GPU kernels cover the steps of fp32\n"
    "                        and int8 plans (docs/gpu.md lists them); a\n"
    "                        step without one fails, naming it\n"
    "  --sm LIST             GPU architectures, e.g. 80,86,89,90 (the\n"
    "                        default); LLVM 19 + ptxas 13 take 75..90\n"
    "  --shapes NAME:DIMS    fix symbolic input dims, e.g. input:1x3x224x224\n"
    "  --const-input NAME=FILE\n"
    "                        freeze input NAME to the value in FILE (.npy or\n"
    "                        .pb): it becomes a constant of the engine\n"
    "  --dump-ir STAGE       write the graph after pass STAGE as XML IR to\n"
    "                        ENGINE.STAGE.xml (+ .bin); STAGE is import or a\n"
    "                        pass from --verbose's list\n"
    "  --keep-ir [FILE.ll]   keep the optimised LLVM IR of every step in the\n"
    "                        engine (ingot inspect ENGINE --ir STEP shows a\n"
    "                        step's); with FILE.ll (or --keep-ir=FILE) also\n"
    "                        write it to FILE\n"
    "  --verbose             print the pass pipeline and what each pass did\n"
    "                        (and every fusion, with node names)\n"
    "  --no-fuse             no fusion: one step per node (docs/fusion.md);\n"
    "                        for comparing step counts and outputs\n";

typedef struct dump_ctx {
  const char *engine_path;
} dump_ctx;

static ingot_status dump_stage(const ir_graph *g, const char *stage,
                               void *p) {
  const dump_ctx *d = p;
  char path[4096];
  snprintf(path, sizeof path, "%s.%s.xml", d->engine_path, stage);
  ingot_status s = ir_export_xml(g, path);
  if (!s) fprintf(stderr, "ingot build: wrote %s\n", path);
  return s;
}

static ingot_status write_file(const char *path, const void *data,
                               size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return ingot_make_status(INGOT_NOT_FOUND, "%s: cannot create", path);
  bool ok = fwrite(data, 1, size, f) == size;
  ok = (fclose(f) == 0) && ok;
  return ok ? NULL
            : ingot_make_status(INGOT_DATA_LOSS, "%s: write failed", path);
}

__attribute__((visibility("default"))) int ingot_plugin_build(int argc,
                                                              char **argv);
int ingot_plugin_build(int argc, char **argv) {
  const char *model = NULL, *out = NULL, *mcpu = NULL, *dump = NULL,
             *keep_ir = NULL;
  const char *consts[CLI_MAX_INPUTS];
  int n_consts = 0, amx = CG_AMX_AUTO;
  bool fallback_set = false; /* --fallback-precision given */
  bool verbose = false, embed_ir = false, no_fuse = false;
  cli_shapes so = {0};
  /* --target cuda */
  bool gpu = false;
  const char *sm_list = NULL;
  uint32_t sms[INGOT_GPU_MAX_SM];
  size_t n_sms = 0;
  char gpu_note[256] = "";
  /* --int8 and calibration */
  quant_override ovr[CLI_MAX_INPUTS];
  quant_report report = {0};
  calib_table table = {0};
  calib_options co = {.method = INGOT_CALIB_DEFAULT, .progress = true};
  quant_options qo = {.overrides = ovr, .table = &table, .report = &report,
                      .collect = calib_collect};
  const char *calib_method = NULL;
  /* BUILD_INFO records the command with file paths reduced to their
   * names (and the output as ENGINE), so the same model and options give
   * the same bytes wherever the files are. */
  char cmdline[2048] = "ingot build";
  for (int i = 0; i < argc; i++) {
    size_t used = strlen(cmdline);
    const char *a = argv[i];
    const char *prev = i ? argv[i - 1] : "";
    if (strcmp(prev, "-o") == 0 || strcmp(prev, "--output") == 0) {
      a = "ENGINE";
    } else if (strchr(a, '/')) { /* a path, NAME=path or --opt=path */
      const char *eq = strchr(a, '=');
      const char *base = strrchr(a, '/') + 1;
      if (eq && eq < base) { /* NAME=path/file: keep NAME= */
        snprintf(cmdline + used, sizeof cmdline - used, " %.*s%s",
                 (int)(eq - a + 1), a, base);
        continue;
      }
      a = base;
    }
    snprintf(cmdline + used, sizeof cmdline - used, " %s", a);
  }
  int rc = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(help_build, stdout);
      cli_free_shapes(&so);
      return 0;
    } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) &&
               i + 1 < argc) {
      out = argv[++i];
    } else if (strcmp(a, "--fp32") == 0) {
      continue;
    } else if (strcmp(a, "--best") == 0) {
      cli_free_shapes(&so);
      return cli_usage_error("build", "%s: not in this version; use --int8 "
                             "--calib DATA --accuracy-target sqnr=DB|"
                             "top1=FRAC (accuracy-driven mixed precision) "
                             "or --fp32", a);
    } else if (strcmp(a, "--int8") == 0) {
      qo.int8 = true;
    } else if (strcmp(a, "--calib") == 0 && i + 1 < argc) {
      co.data = argv[++i];
    } else if (strcmp(a, "--calib-method") == 0 && i + 1 < argc) {
      calib_method = argv[++i];
    } else if (strcmp(a, "--calib-cache") == 0 && i + 1 < argc) {
      co.cache = argv[++i];
    } else if (strcmp(a, "--preprocess") == 0 && i + 1 < argc) {
      co.preprocess = argv[++i];
    } else if (strcmp(a, "--act-scheme") == 0 && i + 1 < argc) {
      const char *v = argv[++i];
      if (strcmp(v, "u8") && strcmp(v, "s8")) {
        cli_free_shapes(&so);
        return cli_usage_error("build", "--act-scheme %s: use u8 or s8", v);
      }
      qo.act = strcmp(v, "s8") == 0 ? QUANT_ACT_S8 : QUANT_ACT_U8;
    } else if (strcmp(a, "--layer-precision") == 0 && i + 1 < argc) {
      ingot_status s = qo.n_overrides == CLI_MAX_INPUTS
                           ? ingot_make_status(INGOT_INVALID_ARGUMENT,
                                               "too many --layer-precision")
                           : quant_parse_override(argv[++i],
                                                  &ovr[qo.n_overrides]);
      if (s) {
        cli_free_shapes(&so);
        return cli_fail(s);
      }
      qo.n_overrides++;
    } else if (strcmp(a, "--strict-precision") == 0) {
      qo.strict = true;
    } else if (strcmp(a, "--accuracy-target") == 0 && i + 1 < argc) {
      ingot_status s = quant_parse_target(argv[++i], &qo.target);
      if (s) {
        cli_free_shapes(&so);
        return cli_fail(s);
      }
    } else if (strcmp(a, "--fallback-precision") == 0 && i + 1 < argc) {
      const char *v = argv[++i];
      if (strcmp(v, "fp32") && strcmp(v, "bf16")) {
        cli_free_shapes(&so);
        return cli_usage_error("build", "--fallback-precision takes fp32 or "
                               "bf16, not '%s'", v);
      }
      qo.fallback = !strcmp(v, "bf16") ? QUANT_P_BF16 : QUANT_P_FP32;
      fallback_set = true;
    } else if (strcmp(a, "--best-effort") == 0) {
      qo.best_effort = true;
    } else if (strcmp(a, "--sensitivity-report") == 0 && i + 1 < argc) {
      qo.sensitivity_report = argv[++i];
    } else if (strcmp(a, "--mcpu") == 0 && i + 1 < argc) {
      mcpu = argv[++i];
    } else if (strcmp(a, "--amx") == 0 && i + 1 < argc) {
      const char *v = argv[++i];
      amx = !strcmp(v, "auto") ? CG_AMX_AUTO
            : !strcmp(v, "always") ? CG_AMX_ALWAYS
            : !strcmp(v, "never") ? CG_AMX_NEVER : -1;
      if (amx < 0) {
        cli_free_shapes(&so);
        return cli_usage_error("build",
                               "--amx takes auto, always or never, not '%s'",
                               v);
      }
    } else if (strcmp(a, "--target") == 0 && i + 1 < argc) {
      const char *v = argv[++i];
      if (strcmp(v, "cpu") == 0) {
        gpu = false;
      } else if (strcmp(v, "cuda") == 0 || strcmp(v, "cpu,cuda") == 0 ||
                 strcmp(v, "cuda,cpu") == 0) {
        gpu = true;
      } else {
        cli_free_shapes(&so);
        return cli_usage_error("build", "--target %s: use cpu, cuda or "
                               "cpu,cuda", v);
      }
    } else if (strcmp(a, "--sm") == 0 && i + 1 < argc) {
      sm_list = argv[++i];
    } else if (strcmp(a, "--dump-ir") == 0 && i + 1 < argc) {
      dump = argv[++i];
    } else if (strcmp(a, "--keep-ir") == 0) {
      embed_ir = true;
      if (i + 1 < argc && cli_has_suffix(argv[i + 1], ".ll"))
        keep_ir = argv[++i];
    } else if (strncmp(a, "--keep-ir=", 10) == 0 && a[10]) {
      embed_ir = true;
      keep_ir = a + 10;
    } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
      verbose = true;
    } else if (strcmp(a, "--no-fuse") == 0) {
      no_fuse = true;
    } else if (strcmp(a, "--const-input") == 0 && i + 1 < argc) {
      if (n_consts == CLI_MAX_INPUTS) {
        cli_free_shapes(&so);
        return cli_usage_error("build", "%s", "too many --const-input");
      }
      consts[n_consts++] = argv[++i];
    } else if (strcmp(a, "--shapes") == 0 && i + 1 < argc) {
      ingot_status s = cli_parse_shapes(argv[++i], &so);
      if (s) {
        cli_free_shapes(&so);
        return cli_fail(s);
      }
    } else if (a[0] == '-') {
      cli_free_shapes(&so);
      return cli_usage_error("build", "unknown or incomplete option '%s'", a);
    } else if (!model) {
      model = a;
    } else {
      cli_free_shapes(&so);
      return cli_usage_error("build", "unexpected argument '%s'", a);
    }
  }
  if (sm_list && !gpu) {
    cli_free_shapes(&so);
    return cli_usage_error("build", "%s", "--sm goes with --target cuda");
  }
  if (gpu && mcpu) {
    cli_free_shapes(&so);
    return cli_usage_error("build", "%s",
                           "--mcpu does not go with --target cuda (a GPU "
                           "engine's CPU code is for the generic x86-64)");
  }
  if (gpu) {
    ingot_status ss = cg_gpu_parse_sm(sm_list ? sm_list : "80,86,89,90", sms,
                                      INGOT_GPU_MAX_SM, &n_sms);
    if (ss) {
      cli_free_shapes(&so);
      return cli_fail(ss);
    }
  }
  if (!model || !out) {
    cli_free_shapes(&so);
    return cli_usage_error("build", "%s", !model ? "missing MODEL" : "missing -o ENGINE");
  }
  bool calib_opts = co.cache || co.preprocess || calib_method;
  bool search = qo.target.kind != QUANT_TARGET_NONE || qo.sensitivity_report;
  if (!qo.int8 && (co.data || calib_opts || qo.n_overrides || qo.strict ||
                   qo.act || search || qo.best_effort)) {
    cli_free_shapes(&so);
    return cli_usage_error("build", "%s",
                           "--calib, --calib-method, --calib-cache, "
                           "--preprocess, --act-scheme, --layer-precision, "
                           "--strict-precision, --accuracy-target, "
                           "--best-effort and --sensitivity-report go with "
                           "--int8");
  }
  if (search && !co.data) {
    cli_free_shapes(&so);
    return cli_usage_error("build", "%s",
                           "--accuracy-target and --sensitivity-report need "
                           "--calib DATA");
  }
  if (search && co.cache) {
    /* The cache does not record which feeds made it; the search needs
     * ranges from the calibration feeds only, not the held-out ones. */
    cli_free_shapes(&so);
    return cli_usage_error("build", "%s",
                           "--calib-cache does not go with --accuracy-target "
                           "or --sensitivity-report: they calibrate on the "
                           "first three quarters of --calib and hold the "
                           "rest out, which a cache cannot tell apart");
  }
  if (fallback_set && qo.target.kind == QUANT_TARGET_NONE) {
    cli_free_shapes(&so);
    return cli_usage_error("build", "%s",
                           "--fallback-precision goes with --accuracy-target");
  }
  if (qo.best_effort && qo.target.kind == QUANT_TARGET_NONE) {
    cli_free_shapes(&so);
    return cli_usage_error("build", "%s",
                           "--best-effort goes with --accuracy-target");
  }
  if (!co.data && calib_opts) {
    cli_free_shapes(&so);
    return cli_usage_error("build", "%s",
                           "--calib-method, --calib-cache and --preprocess "
                           "need --calib DATA");
  }
  if (calib_method) {
    ingot_status s = calib_parse_method(calib_method, &co.method,
                                        &co.percentile);
    if (s) {
      cli_free_shapes(&so);
      return cli_fail(s);
    }
  }
  co.log = verbose ? stderr : NULL;
  for (int i = 0; i < qo.n_overrides + 1 && !qo.target_bf16; i++) {
    if (i < qo.n_overrides ? ovr[i].prec != QUANT_P_BF16
                           : qo.fallback != QUANT_P_BF16)
      continue;
    cg_target tg;
    char feats[512];
    /* A GPU engine's CPU code is for the generic x86-64: no bf16 there,
     * so a bf16 request runs fp32 with the reason (strict refuses). */
    ingot_status s = gpu ? cg_target_named("x86-64", &tg)
                     : mcpu && strcmp(mcpu, "native") != 0
                         ? cg_target_named(mcpu, &tg)
                         : cg_target_host(&tg);
    if (s) {
      cli_free_shapes(&so);
      return cli_fail(s);
    }
    qo.target_bf16 =
        strstr(cg_features_str(tg.cpu_features, feats, sizeof feats),
               "bf16") != NULL;
    break;
  }
  if (co.data) qo.calib = &co;
  if (dump) {
    bool known = strcmp(dump, "import") == 0;
    for (int i = 0; i < pass_pipeline_count; i++)
      known |= strcmp(dump, pass_pipeline[i].name) == 0;
    if (!known) {
      cli_free_shapes(&so);
      return cli_usage_error("build",
                             "--dump-ir: unknown stage '%s' (see --verbose "
                             "for the pass names)",
                             dump);
    }
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  ir_graph *g = NULL;
  ingot_status s = cli_load_model(model, &so, &g);
  cli_free_shapes(&so);
  for (int i = 0; !s && i < n_consts; i++) {
    const char *eq = strchr(consts[i], '=');
    if (!eq) {
      s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                            "--const-input %s: write NAME=FILE", consts[i]);
      break;
    }
    char name[1024];
    snprintf(name, sizeof name, "%.*s", (int)(eq - consts[i]), consts[i]);
    ir_value v = {0};
    s = cli_load_tensor(eq + 1, &v);
    if (!s) s = pass_freeze_input(g, name, &v);
    ir_value_free(&v);
  }
  if (!s && verbose) {
    fprintf(stderr, "passes:\n");
    for (int i = 0; i < pass_pipeline_count; i++)
      fprintf(stderr, "  %-14s %s\n", pass_pipeline[i].name,
              pass_pipeline[i].what);
  }
  dump_ctx dc = {out};
  pass_options po = {.nhwc = true,
                     .no_fuse = no_fuse,
                     .verify = true,
                     .log = verbose ? stderr : NULL,
                     .dump_stage = dump,
                     .dump = dump ? dump_stage : NULL,
                     .dump_ctx = &dc,
                     .int8 = qo.int8 ? &qo : NULL};
  char *ir_text = NULL;
  cg_build_options bo = {.mcpu = mcpu,
                         .passes = &po,
                         .command_line = cmdline,
                         .log = verbose ? stderr : NULL,
                         .ir_out = keep_ir ? &ir_text : NULL,
                         .embed_ir = embed_ir,
                         .amx = amx,
                         .gpu_sm = gpu ? sms : NULL,
                         .n_gpu_sm = n_sms,
                         .gpu_note = gpu_note,
                         .gpu_note_cap = sizeof gpu_note};
  /* --accuracy-target on the build machine: fallbacks' latency measured
   * (compiler/measure_latency.c). */
  cli_measure_ctx mctx = {.passes = po, .amx = amx};
  mctx.passes.int8 = NULL;
  mctx.passes.log = NULL;
  mctx.passes.dump = NULL;
  mctx.passes.dump_stage = NULL;
  if (qo.target.kind != QUANT_TARGET_NONE && !gpu &&
      (!mcpu || !strcmp(mcpu, "native"))) {
    qo.measure = cli_measure_latency;
    qo.measure_ctx = &mctx;
  }
  void *bytes = NULL;
  size_t size = 0;
  if (!s) s = cg_build_engine(g, &bo, &bytes, &size);
  if (!s) s = write_file(out, bytes, size);
  if (!s && gpu_note[0]) fprintf(stderr, "ingot build: note: %s\n", gpu_note);
  if (!s && keep_ir) s = write_file(keep_ir, ir_text, strlen(ir_text));
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (!s)
    printf("wrote %s (%zu bytes) in %.2f s\n", out, size,
           (double)(t1.tv_sec - t0.tv_sec) +
               (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9);
  else
    rc = cli_fail(s);
  free(bytes);
  free(ir_text);
  calib_table_free(&table);
  quant_report_free(&report);
  quant_search_free(&qo);
  ir_graph_destroy(g);
  return rc;
}
