# Kernel op tests (label `kernels`): every op against a float64 reference
# written in the test, on fresh random inputs (the seed is printed; replay
# with WK_TEST_SEED=N).
foreach(t dtype linear ops attention conv signal args textfeat pool)
  warm_add_test(test_kernels_${t} SOURCES unit/test_kernels_${t}.c LIBS wk
                LABELS kernels)
endforeach()
# The shared pool under several host threads: also run under TSan.
set_tests_properties(test_kernels_pool PROPERTIES LABELS "kernels;tsan")
# The paths a cpu without AVX512-BF16 runs (im2col + OpenBLAS for conv3d,
# decoded weights for bf16 linear): the same tests with oneDNN switched off.
foreach(t linear conv)
  add_test(NAME test_kernels_${t}_no_dnnl COMMAND test_kernels_${t})
  set_tests_properties(test_kernels_${t}_no_dnnl PROPERTIES LABELS kernels
                       ENVIRONMENT WK_CPU_NO_DNNL=1)
endforeach()

# Benchmarks: built into <build>/tests/ next to the tests but not registered
# with ctest (the ASan run of `make test` runs every registered test), so no
# default run includes them; tests/bench/run.sh finds and runs bench_*.
foreach(b gemm ops)
  add_executable(bench_${b} bench/bench_${b}.c)
  set_target_properties(bench_${b} PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                        ${WARM_TEST_BIN} LABELS bench)
  target_compile_options(bench_${b} PRIVATE $<$<COMPILE_LANGUAGE:C>:${WARM_C_WARNINGS}>)
  target_include_directories(bench_${b} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
  target_link_libraries(bench_${b} PRIVATE wk PkgConfig::OPENBLAS Threads::Threads m)
endforeach()

# The CUDA backend loaded on demand from libwarm_cuda.so.1 (issue 15).
warm_add_test(test_cuda_load SOURCES unit/test_cuda_load.c LIBS wk
              LABELS kernels unit)
target_include_directories(test_cuda_load PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration
                           ${PROJECT_SOURCE_DIR}/kernels)
if(TARGET warm_cuda)
  target_compile_definitions(test_cuda_load PRIVATE WARM_TEST_CUDA_LIB=1)
endif()
