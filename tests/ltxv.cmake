# LTX-Video DiT and VAE plugin tests (label ltxv). The checkpoints they read
# are made by the ltxv_checkpoints fixture with warm-mkmodel under
# <build>/ltxv-ckpt, with the presets, seeds and --set values that
# tests/parity/ltxv.py used for the goldens in data/ltxv.
set(LTXV_CKPT_DIR ${CMAKE_BINARY_DIR}/ltxv-ckpt)

function(ltxv_checkpoint name arch preset seed)
  add_test(NAME ltxv_ckpt_${name}
           COMMAND warm-mkmodel --arch ${arch} --preset ${preset} --seed ${seed}
                   --out ${LTXV_CKPT_DIR}/${name} ${ARGN})
  set_tests_properties(ltxv_ckpt_${name} PROPERTIES
                       FIXTURES_SETUP ltxv_checkpoints LABELS ltxv)
endfunction()

ltxv_checkpoint(dit_tiny ltxv tiny 1)
ltxv_checkpoint(dit_tiny_p2 ltxv tiny 2 --set patch_size=2 --set patch_size_t=2
                --set in_channels=32 --set out_channels=32)
ltxv_checkpoint(vae_tiny ltxv-vae tiny 3)
ltxv_checkpoint(vae_tiny_t ltxv-vae tiny-t 4)
ltxv_checkpoint(vae_tiny_tiled ltxv-vae tiny 5)

function(ltxv_test name)
  warm_add_test(${name} ${ARGN})
  set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED ltxv_checkpoints)
  add_dependencies(${name} transformer_ltxv vae_ltxv warm-mkmodel)
endfunction()

ltxv_test(test_ltxv_parity SOURCES unit/test_ltxv_parity.c
          LIBS warm::sdk LABELS ltxv
          ARGS dit_tiny dit_tiny_p2 vae_tiny vae_tiny_t vae_tiny_tiled)
ltxv_test(test_ltxv_placement SOURCES unit/test_ltxv_placement.c
          LIBS warm::sdk LABELS ltxv)
ltxv_test(test_ltxv_errors SOURCES unit/test_ltxv_errors.c
          LIBS warm::sdk LABELS ltxv)

# Benchmarks (label bench: out of ctest's default runs; tests/bench/run.sh
# and tests/gpu/check.sh run them).
warm_add_test(bench_ltxv SOURCES bench/bench_ltxv.c LIBS warm::sdk
              LABELS bench)
add_dependencies(bench_ltxv transformer_ltxv vae_ltxv warm-mkmodel)
warm_add_test(gpubench_ltxv SOURCES gpu/gpubench_ltxv.c LIBS warm::sdk
              LABELS bench gpu)
add_dependencies(gpubench_ltxv transformer_ltxv warm-mkmodel)
