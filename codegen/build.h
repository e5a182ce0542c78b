/* build.h — the whole engine build as one call: plan, specialise every step
 * with LLVM, emit the object, write the engine.  The ingot CLI, the
 * conformance runner and the builder API use it. */
#ifndef INGOT_CODEGEN_BUILD_H
#define INGOT_CODEGEN_BUILD_H

#include <stdbool.h>
#include <stdio.h>

#include "cg.h"
#include "ir.h"
#include "passes.h"

typedef struct cg_build_options {
  const char *mcpu;       /* NULL or "native": the build machine */
  const pass_options *passes; /* NULL: defaults */
  const char *command_line;   /* recorded in BUILD_INFO */
  FILE *log;              /* --verbose; NULL = quiet */
  char **ir_out;          /* --keep-ir FILE: optimised LLVM IR (malloc'd) */
  bool embed_ir;          /* --keep-ir: the IR also goes into the engine
                           * (LLVM_IR section, for inspect --ir) */
  int amx;                /* cg_amx_policy (cg.h); 0: AUTO */
  const uint32_t *gpu_sm; /* --target cuda: sm values (gpu.h), NULL: CPU */
  size_t n_gpu_sm;
  char *gpu_note;         /* out, may be NULL: what the GPU build could not */
  size_t gpu_note_cap;    /* do (no ptxas: PTX only), "" otherwise */
} cg_build_options;

/* Builds an engine for |g| (mutated by the passes) into *out (malloc'd,
 * *size bytes). */
ingot_status cg_build_engine(ir_graph *g, const cg_build_options *opt,
                             void **out, size_t *size);

#endif
