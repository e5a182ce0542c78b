/* llvm_util.h — LLVM C API helpers shared by the CPU code generator
 * (llvm.c, which defines them) and the GPU one (gpu.c). */
#ifndef INGOT_CODEGEN_LLVM_UTIL_H
#define INGOT_CODEGEN_LLVM_UTIL_H

#include <stddef.h>

#include <llvm-c/Core.h>

/* A diagnostic handler that keeps the first error LLVM reports, as a
 * strdup'd string in the char * that |first_error| points to; warnings and
 * remarks are dropped.  Install it with LLVMContextSetDiagnosticHandler. */
void cg_llvm_keep_first_error(LLVMDiagnosticInfoRef di, void *first_error);

/* @SYMBOL.desc = private unnamed_addr constant [size x i8] c"...", align
 * 16: a step's descriptor bytes, which the step function passes to its
 * template so that the optimiser folds them into constants. */
LLVMValueRef cg_llvm_desc_global(LLVMModuleRef mod, const char *symbol,
                                 const void *desc, size_t size);

#endif
