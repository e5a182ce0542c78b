/* math.h for the nvptx64 kernel build: only the functions PTX has an
 * instruction for (kabi.h allows no others), as compiler builtins.  The
 * transcendental helpers of kmath.h are plain arithmetic. */
#ifndef INGOT_NVPTX_MATH_H
#define INGOT_NVPTX_MATH_H
#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
#define sqrtf __builtin_sqrtf
#define sqrt __builtin_sqrt
#define fabsf __builtin_fabsf
#define fabs __builtin_fabs
#define fminf __builtin_fminf
#define fmaxf __builtin_fmaxf
#define floorf __builtin_floorf
#define ceilf __builtin_ceilf
#define truncf __builtin_truncf
#define rintf __builtin_rintf
#define nearbyintf __builtin_nearbyintf
#define floor __builtin_floor
#define ceil __builtin_ceil
#define round __builtin_round
#endif
