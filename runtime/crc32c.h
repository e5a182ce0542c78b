/* crc32c.h — CRC32C (Castagnoli), the engine file's checksum.  Internal to
 * Ingot: libingot_rt checks it, the engine writer (codegen) computes it, so
 * both sides use this one implementation. */
#ifndef INGOT_RT_CRC32C_H
#define INGOT_RT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC32C of |n| bytes at |data| (initial value ~0, final xor ~0, as in
 * iSCSI and ext4): "123456789" gives 0xe3069283.  Uses the SSE4.2 crc32
 * instruction when the CPU has it, a table otherwise; both agree. */
uint32_t rt_crc32c(const void *data, size_t n);
/* The table-driven version alone (for tests that compare the two). */
uint32_t rt_crc32c_portable(const void *data, size_t n);

#endif
