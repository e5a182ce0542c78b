/* layout.h — arena and weight offsets of the test engines, shared by the
 * step functions (steps.c, compiled to an ELF object at build time) and
 * the engine descriptions (fixture.c).  Plain macros only: steps.c is
 * compiled standalone by clang with no project headers. */
#ifndef INGOT_TESTS_RUNTIME_LAYOUT_H
#define INGOT_TESTS_RUNTIME_LAYOUT_H

/* x, y, xcopy: float32 [1, C, H, W] stored NHWC */
#define T_C 3
#define T_H 4
#define T_W 5
#define T_XN (T_C * T_H * T_W)

/* arena */
#define A_X 0        /* float32[60], input, NHWC */
#define A_Y 256      /* float32[60], output, NHWC: x * scale[c] + bias[c] */
#define A_IDX 512    /* int64[6], input */
#define A_Z 576      /* int64[6], output: f(idx) (steps.c: z_of) */
#define A_COUNT 640  /* int64[1], output: runs of this loaded code */
#define A_XCOPY 704  /* float32[60], output, NHWC: memcpy of x */
#define A_Q 960      /* uint8[8], input float32 quantised (scale 0.5, zp 10) */
#define A_QO 1024    /* uint8[8], output: memmove of q */
#define A_SCRATCH 1040 /* 16 bytes memset to 0x5a */
#define A_SUM 1088   /* int64[2], output: sum of task ids, task count */
#define A_SIZE 1152

#define N_IDX 6
#define N_Q 8
#define SUM_TASKS 1000

/* weights */
#define W_SCALE 0    /* float[3] */
#define W_BIAS 16    /* float[3] */
#define W_NBYTES 64  /* int64: bytes of x (240) */
#define W_QBYTES 72  /* int64: bytes of q (8) */
#define W_SBYTES 80  /* int64: scratch bytes (16) */
#define W_SIZE 128

#endif
