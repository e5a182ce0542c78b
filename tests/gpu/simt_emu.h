/* simt_emu.h — a CPU emulation of the CUDA SIMT model for testing the GPU
 * kernel templates (codegen/kernels/nvptx/) without a GPU (DESIGN.md §6).
 * Test-only: never linked into libingot_rt or the compiler.
 *
 * A launch runs the grid's blocks one after another.  Each block's threads
 * are ucontext fibers on their own stacks, scheduled round-robin on the
 * calling thread; a thread runs until it finishes or reaches a scheduling
 * point:
 *  - simt_sync (bar.sync 0): waits until every thread of the block is
 *    there;
 *  - a warp shuffle: the 32 lanes of the warp each publish their value,
 *    wait for each other, read their source lane's value, and wait again
 *    (so no lane overwrites its slot before every lane has read it);
 *  - mma.sync (simt_mma_us): likewise, the lanes publish their A and B
 *    fragment registers and each computes its D fragment from the whole
 *    warp's, by the PTX ISA's fragment layout.
 * Shared memory is one zeroed buffer per block (filled with garbage
 * first: kernels must not read what they have not written); each thread's
 * SIMT_SHARED declarations walk it in the same order.
 *
 * Errors a real GPU would hang or misbehave on are reported instead: a
 * barrier or shuffle that some thread of the block (warp) exits without
 * reaching, block sizes that are not a multiple of the warp for kernels
 * that shuffle, shared memory over the launch's size.  The message goes to
 * |err| and the launch returns 0.
 */
#ifndef INGOT_TESTS_SIMT_EMU_H
#define INGOT_TESTS_SIMT_EMU_H

#include <stddef.h>
#include <stdint.h>

typedef void (*simt_kernel)(const void *desc, uint8_t *arena,
                            const uint8_t *weights);

/* Runs |k| over grid[0] x grid[1] x grid[2] blocks of block[0] threads
 * (block[1], block[2] must be 1) with |smem| bytes of shared memory per
 * block.  Returns 1, or 0 with a message in |err|. */
int simt_launch(simt_kernel k, const void *desc, uint8_t *arena,
                const uint8_t *weights, const uint32_t grid[3],
                const uint32_t block[3], uint32_t smem, char *err,
                size_t errcap);

/* Scheduling points taken by the last launch (barriers and shuffles, per
 * thread): tests check that a kernel really synchronised. */
uint64_t simt_last_sync_count(void);
uint64_t simt_last_shfl_count(void);
uint64_t simt_last_mma_count(void); /* mma.sync per thread */

#endif
