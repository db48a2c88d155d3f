// field_selftest.wgsl's elements at field_u64.wgsl's limb bounds (10 limbs of 26/25 bits), which
// no decoding produces: composed between the field part and the self-test kernel.

// W, the largest normal form: 26-bit limbs (even) 2^27 − 1, 25-bit limbs (odd) 2^26 − 1.
const FE_TEST_MAX_NORMAL: Fe = Fe(
    0x7ffffffu, 0x3ffffffu, 0x7ffffffu, 0x3ffffffu, 0x7ffffffu,
    0x3ffffffu, 0x7ffffffu, 0x3ffffffu, 0x7ffffffu, 0x3ffffffu
);

// V, every limb 2^27 − 1: the input bound of fe_mul and fe_sq (and of fe_sub's b), where a
// product column comes closest to 2^63 and 19 · b_j to 2^32.
const FE_TEST_MAX_MUL_INPUT: Fe = Fe(
    0x7ffffffu, 0x7ffffffu, 0x7ffffffu, 0x7ffffffu, 0x7ffffffu,
    0x7ffffffu, 0x7ffffffu, 0x7ffffffu, 0x7ffffffu, 0x7ffffffu
);

// U, every limb 2^31 − 1: fe_to_bytes's input bound.
const FE_TEST_MAX_TO_BYTES_INPUT: Fe = Fe(
    0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu,
    0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu
);
