/* embed.c — the kernel templates' LLVM bitcode, one module per ISA family,
 * embedded in libingot_codegen.
 *
 * codegen/CMakeLists.txt compiles every codegen/kernels/<family> template with
 * clang-19 and links each family into build/codegen/kernels_<family>.bc; the
 * paths arrive here as INGOT_BC_<FAMILY> and .incbin copies the bytes into
 * .rodata.  The build lists the .bc files as OBJECT_DEPENDS of this file,
 * so a changed kernel re-embeds.  Nothing is read from disk at run time:
 * an `ingot` binary carries its own kernels.
 *
 * Each blob is 16-byte aligned (LLVM's bitcode reader wants 4) and bounded
 * by a begin and an end symbol, hidden so they never leak out of a shared
 * library that links this archive.
 */
#include <stddef.h>
#include <stdint.h>

#include "cg.h"

#if !defined(INGOT_BC_GENERIC) || !defined(INGOT_BC_X86_AVX2) || \
    !defined(INGOT_BC_X86_AVX512)
#error "embed.c needs INGOT_BC_<FAMILY> paths from codegen/CMakeLists.txt"
#endif

/* clang-format off */
#define CG_EMBED(name, path)                                          \
  __asm__(".pushsection .rodata.ingot_bc_" #name ",\"a\",@progbits\n" \
          ".balign 16\n"                                              \
          ".globl ingot_bc_" #name "_begin\n"                         \
          ".hidden ingot_bc_" #name "_begin\n"                        \
          "ingot_bc_" #name "_begin:\n"                               \
          ".incbin \"" path "\"\n"                                    \
          ".globl ingot_bc_" #name "_end\n"                           \
          ".hidden ingot_bc_" #name "_end\n"                          \
          "ingot_bc_" #name "_end:\n"                                 \
          ".popsection\n")
/* clang-format on */

CG_EMBED(generic, INGOT_BC_GENERIC);
CG_EMBED(x86_avx2, INGOT_BC_X86_AVX2);
CG_EMBED(x86_avx512, INGOT_BC_X86_AVX512);

#define CG_EXTERN(name)                          \
  extern const uint8_t ingot_bc_##name##_begin[] \
      __attribute__((visibility("hidden")));     \
  extern const uint8_t ingot_bc_##name##_end[]   \
      __attribute__((visibility("hidden")))

CG_EXTERN(generic);
CG_EXTERN(x86_avx2);
CG_EXTERN(x86_avx512);

/* The bitcode of |isa|'s templates (borrowed, static; NULL for an unknown
 * |isa|); an empty family is still a valid module.  Declared in llvm.c,
 * its only user. */
const uint8_t *cg_kernel_bitcode(cg_isa isa, size_t *size);

const uint8_t *cg_kernel_bitcode(cg_isa isa, size_t *size) {
  const uint8_t *b, *e;
  switch (isa) {
    case CG_ISA_AVX2:
      b = ingot_bc_x86_avx2_begin, e = ingot_bc_x86_avx2_end;
      break;
    case CG_ISA_AVX512:
      b = ingot_bc_x86_avx512_begin, e = ingot_bc_x86_avx512_end;
      break;
    case CG_ISA_GENERIC:
      b = ingot_bc_generic_begin, e = ingot_bc_generic_end;
      break;
    default:
      *size = 0;
      return NULL;
  }
  *size = (size_t)(e - b);
  return b;
}
