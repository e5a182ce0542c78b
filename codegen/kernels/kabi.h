/* kabi.h — the ABI between generated code and kernel templates.
 *
 * Kernel templates (the .c files in codegen/kernels/<isa>/) are plain C,
 * compiled twice:
 * to LLVM bitcode embedded in libingot_codegen (specialised per step at
 * engine build time) and natively into the kernel unit tests.  Every
 * template has the same signature:
 *
 *   void k_NAME(const void *desc, uint8_t *arena, const uint8_t *weights,
 *               int64_t task_begin, int64_t task_end);
 *
 * |desc| points to the template's descriptor struct (declared in the
 * family's header next to the template, shared with the lowering code that
 * fills it).  At engine build time it is a constant global, so every field
 * folds into the code.  Buffers are addressed through kbuf (space +
 * offset), never raw pointers, so descriptors are position-independent
 * bytes.  A template computes tasks [task_begin, task_end) of the step's
 * task count; tasks of one step must write disjoint outputs.
 *
 * Templates may use only this header, <stdint.h>, <stddef.h>, <string.h>
 * (memcpy/memset/memmove, the only calls generated code may make), <math.h>
 * functions every x86-64 has an instruction for (sqrtf, sqrt, fabsf,
 * fabs, fminf, fmaxf) and the helpers in kmath.h: the transcendental
 * functions and km_rintf/km_floorf/... (floorf, ceilf, truncf, rintf and
 * nearbyintf become libm calls on the baseline x86-64 target, which
 * cg_module_emit rejects).  So results do not depend on the C library.
 * They are compiled with -ffp-contract=off: float expressions are evaluated
 * exactly as written (DESIGN.md §5).
 */
#ifndef INGOT_KABI_H
#define INGOT_KABI_H

#include <stddef.h>
#include <stdint.h>

/* Where a buffer lives. */
enum { KB_ARENA = 0, KB_WEIGHTS = 1 };

typedef struct kbuf {
  int64_t off;
  int32_t space; /* KB_ARENA or KB_WEIGHTS */
  int32_t pad_;
} kbuf;

#define KMAX_RANK 8

/* A tensor as a kernel sees it: element type (ONNX numbering), dims in
 * memory order, and where it is. */
typedef struct ktensor {
  kbuf buf;
  int32_t dtype;
  int32_t rank;
  int64_t dims[KMAX_RANK];
} ktensor;

static inline void *kptr(kbuf b, uint8_t *arena, const uint8_t *weights) {
  return b.space == KB_WEIGHTS ? (void *)(uintptr_t)(weights + b.off)
                               : (void *)(arena + b.off);
}

#define KSIG(name)                                                         \
  void name(const void *desc_, uint8_t *arena, const uint8_t *weights,     \
            int64_t task_begin, int64_t task_end)

/* Splits |n| work items into |tasks| near-equal chunks: chunk t is
 * [kchunk(n, tasks, t), kchunk(n, tasks, t + 1)). */
static inline int64_t kchunk(int64_t n, int64_t tasks, int64_t t) {
  return n / tasks * t + (t < n % tasks ? t : n % tasks);
}

#endif /* INGOT_KABI_H */
