/* cg.h — code generation: targets, the LLVM module that specialises kernel
 * templates into step functions, and the engine writer.
 *
 * Flow (DESIGN.md §6): the planner lowers each node to steps (lower.h);
 * for every step, cg_module_add_step creates
 *     void SYMBOL(uint8_t *arena, const uint8_t *weights, int64_t t0,
 *                 int64_t t1) { KERNEL(&desc_SYMBOL, arena, weights, t0, t1); }
 * with the descriptor as a constant global, the template inlined into it;
 * cg_module_emit runs the O3 pipeline for the target and emits one x86-64
 * ELF relocatable object; cg_engine_write packs it with the plan, tensors
 * and weights into an engine file (runtime/engine_format.h).
 */
#ifndef INGOT_CODEGEN_CG_H
#define INGOT_CODEGEN_CG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingot/ingot.h"

/* Kernel template families, from slowest to fastest; a target uses its own
 * family's templates where one exists and the generic ones otherwise. */
typedef enum cg_isa {
  CG_ISA_GENERIC = 0, /* plain C, x86-64 baseline (SSE2) */
  CG_ISA_AVX2 = 1,    /* AVX2 + FMA */
  CG_ISA_AVX512 = 2,  /* AVX-512 F/BW/DQ/VL (+VNNI, AMX when present) */
} cg_isa;

typedef struct cg_target {
  char triple[48];        /* "x86_64-unknown-linux-gnu" */
  char cpu[48];           /* LLVM CPU name, e.g. "sapphirerapids" */
  char features[1024];    /* LLVM feature string, e.g. "+avx2,+fma,..." */
  uint64_t cpu_features;  /* INGOT_CPU_* bits the generated code needs */
  cg_isa isa;
  int amx;                /* cg_amx_policy: which int8 layers AMX takes */
} cg_target;

/* Where the target has AMX-INT8: AUTO gives AMX the layers its tiles fill
 * well enough to beat VNNI (lower_amx.c says which), ALWAYS every layer
 * it supports (tests; `ingot build --amx always`), NEVER none. */
enum cg_amx_policy { CG_AMX_AUTO = 0, CG_AMX_ALWAYS = 1, CG_AMX_NEVER = 2 };

/* The build machine: features from LLVM's host query (and CPUID), the CPU
 * name derived from the features (LLVM's name can be wrong on VMs). */
ingot_status cg_target_host(cg_target *out);
/* A named CPU ("x86-64", "x86-64-v3", "skylake-avx512",
 * "sapphirerapids", ...) or "native". */
ingot_status cg_target_named(const char *mcpu, cg_target *out);
/* "avx2 fma avx512f ..." for messages; |buf| is returned. */
const char *cg_features_str(uint64_t cpu_features, char *buf, size_t n);

typedef struct cg_module cg_module;

ingot_status cg_module_create(const cg_target *target, cg_module **out);
void cg_module_destroy(cg_module *m);
/* Adds step function |symbol| calling template |kernel| (a function in the
 * embedded bitcode of the target's family or the generic one) with a
 * constant copy of |desc|.  Fails naming |kernel| if no template has that
 * name. */
ingot_status cg_module_add_step(cg_module *m, const char *symbol,
                                const char *kernel, const void *desc,
                                size_t desc_size);
/* Optimises (O3) and emits the object file; *obj is malloc'd. */
ingot_status cg_module_emit(cg_module *m, void **obj, size_t *obj_size);
/* Textual LLVM IR of the optimised module (for --keep-ir); malloc'd. */
ingot_status cg_module_print_ir(cg_module *m, char **out);

/*===------------------------------------------------------------------===*/
/* Engine writer                                                           */
/*===------------------------------------------------------------------===*/
typedef struct cg_io_tensor {
  const char *name;
  uint32_t role;  /* INGOT_TENSOR_INPUT / OUTPUT */
  uint32_t dtype; /* ONNX numbering, the user's */
  uint32_t rank;
  int64_t dims[8];
  uint64_t arena_offset, arena_bytes;
  uint32_t layout;       /* ingot_layout */
  uint32_t stored_dtype; /* dtype in the arena */
  float scale;
  int32_t zero_point;
} cg_io_tensor;

typedef struct cg_plan_step {
  const char *symbol, *kernel, *op;
  const char *provenance; /* source node names, '\n'-separated */
  uint32_t precision;
  int64_t tasks;
  uint64_t ops, bytes;
} cg_plan_step;

/* A TENSOR_MAP entry (engine_format.h): an arena tensor of the model. */
typedef struct cg_map_tensor {
  const char *name;
  uint32_t dtype; /* of the stored bytes */
  uint32_t rank;
  int64_t dims[8]; /* the model's order */
  uint64_t arena_offset, arena_bytes;
  uint32_t layout;
  uint32_t ready_step; /* INGOT_TENSOR_READY_INPUT for graph inputs */
  bool quantized;      /* scale/zero_point give its real value */
  float scale;
  int32_t zero_point;
} cg_map_tensor;

typedef struct cg_engine_desc {
  const cg_target *target;
  uint64_t arena_size;
  const void *weights;
  size_t weights_size;
  const void *code; /* ELF object from cg_module_emit */
  size_t code_size;
  const cg_io_tensor *tensors; /* inputs first, then outputs */
  uint32_t n_inputs, n_outputs;
  const cg_plan_step *steps;
  uint32_t n_steps;
  const char *build_info; /* "key: value\n" lines */
  const char *llvm_ir;    /* optimised IR text (--keep-ir), NULL: none */
  const cg_map_tensor *map; /* TENSOR_MAP entries, plan order */
  uint32_t n_map;
  /* Optional sections written last, in this order (the GPU sections of a
   * --target cuda build: gpu_engine.c); kind 0 ends the list. */
  struct {
    uint32_t kind;
    const void *data;
    size_t size;
  } extra[4];
  uint32_t gpu_arch; /* header gpu_arch: lowest sm, 0 = no GPU code */
} cg_engine_desc;

/* Serialises an engine (deterministic: same description, same bytes).
 * *out is malloc'd. */
ingot_status cg_engine_serialize(const cg_engine_desc *d, void **out,
                                 size_t *size);
ingot_status cg_engine_write_file(const cg_engine_desc *d, const char *path);

#endif /* INGOT_CODEGEN_CG_H */
