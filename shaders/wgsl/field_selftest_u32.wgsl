// field_selftest.wgsl's elements at field_u32.wgsl's limb bounds (20 limbs of 13 bits), which no
// decoding produces: composed between the field part and the self-test kernel.

// W, the largest normal form: limb 0 = 8,799 (8,191 + 608), the others 8,191.
const FE_TEST_MAX_NORMAL: Fe = Fe(
    8799u, 8191u, 8191u, 8191u, 8191u, 8191u, 8191u, 8191u, 8191u, 8191u,
    8191u, 8191u, 8191u, 8191u, 8191u, 8191u, 8191u, 8191u, 8191u, 8191u
);

// V, every limb 13,000: fe_mul's and fe_sq's input bound.
const FE_TEST_MAX_MUL_INPUT: Fe = Fe(
    13000u, 13000u, 13000u, 13000u, 13000u, 13000u, 13000u, 13000u, 13000u, 13000u,
    13000u, 13000u, 13000u, 13000u, 13000u, 13000u, 13000u, 13000u, 13000u, 13000u
);

// U, every limb 2^31 − 1: fe_to_bytes's input bound.
const FE_TEST_MAX_TO_BYTES_INPUT: Fe = Fe(
    0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu,
    0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu,
    0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu,
    0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu
);
