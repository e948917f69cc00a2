# CUDA backend tests (label `gpu`): every op against the cpu backend, exact
# conversions, determinism, copy/event ordering. Built in every build; the
# test prints "SKIP: no CUDA device" and exits 77 where there is no GPU.
warm_add_test(test_cuda_ops SOURCES gpu/test_cuda_ops.c LIBS wk LABELS gpu)

# GPU benchmark (labels bench + gpu: out of ctest's default runs; run by
# tests/gpu/check.sh). Calls cuBLAS directly for its baseline, so it needs
# the CUDA backend.
if(WARM_HAVE_CUDA)
  warm_add_test(bench_gpu SOURCES gpu/bench_gpu.c
                LIBS wk CUDA::cudart CUDA::cublas LABELS bench gpu)
endif()

# The same test with a cpu context standing in for the cuda one: checks the
# harness (shapes, buffer sizes, front checks) in every build, ASan included.
add_test(NAME test_cuda_ops_harness COMMAND test_cuda_ops)
set_tests_properties(test_cuda_ops_harness PROPERTIES LABELS gpu
                     ENVIRONMENT WK_TEST_CUDA_AS_CPU=1 TIMEOUT 300)
