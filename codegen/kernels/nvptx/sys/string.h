/* string.h for the nvptx64 kernel build (codegen/CMakeLists.txt): there is
 * no C library on the GPU, so the templates' memcpy/memset/memmove are the
 * compiler builtins, which LLVM's NVPTX backend expands inline. */
#ifndef INGOT_NVPTX_STRING_H
#define INGOT_NVPTX_STRING_H
#include <stddef.h>
#define memcpy __builtin_memcpy
#define memset __builtin_memset
#define memmove __builtin_memmove
#endif
