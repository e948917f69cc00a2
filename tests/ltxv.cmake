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
ltxv_checkpoint(dit_tiny_affine ltxv tiny 6 --set norm_elementwise_affine=true
                --set attention_bias=false)
ltxv_checkpoint(vae_tiny ltxv-vae tiny 3)
ltxv_checkpoint(vae_tiny_causal ltxv-vae tiny 7 --set decoder_causal=true)
ltxv_checkpoint(vae_tiny_t ltxv-vae tiny-t 4)
ltxv_checkpoint(vae_tiny_tiled ltxv-vae tiny 5)

function(ltxv_test name)
  warm_add_test(${name} ${ARGN})
  set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED ltxv_checkpoints)
  add_dependencies(${name} transformer_ltxv vae_ltxv warm-mkmodel)
endfunction()

ltxv_test(test_ltxv_parity SOURCES unit/test_ltxv_parity.c
          LIBS warm::sdk LABELS ltxv
          ARGS dit_tiny dit_tiny_p2 dit_tiny_affine vae_tiny vae_tiny_causal
               vae_tiny_t vae_tiny_tiled)
ltxv_test(test_ltxv_placement SOURCES unit/test_ltxv_placement.c
          LIBS warm::sdk LABELS ltxv)
ltxv_test(test_ltxv_errors SOURCES unit/test_ltxv_errors.c
          LIBS warm::sdk LABELS ltxv)

# The SDK's conformance checker on both plugins (estimates vs ledger peaks,
# allocation failures, cancellation, placements agreeing, fingerprints).
if(TARGET warm-plugin-check)
  add_test(NAME ltxv_plugin_check_dit
           COMMAND warm-plugin-check $<TARGET_FILE:transformer_ltxv>
                   --weights ${LTXV_CKPT_DIR}/dit_tiny
                   --shape frames=17,height=128,width=192,batch=2
                   --input latents=2x8x3x4x6 --input timestep=2
                   --input embeddings=2x7x24 --input mask=2x7)
  add_test(NAME ltxv_plugin_check_vae
           COMMAND warm-plugin-check $<TARGET_FILE:vae_ltxv>
                   --weights ${LTXV_CKPT_DIR}/vae_tiny_t
                   --config tile_size=48 --config tile_stride=32
                   --shape frames=9,height=48,width=64,batch=1
                   --input latents=8x2x3x4)
  set_tests_properties(ltxv_plugin_check_dit ltxv_plugin_check_vae PROPERTIES
                       FIXTURES_REQUIRED ltxv_checkpoints LABELS ltxv)
endif()

# Benchmarks (label bench: out of ctest's default runs; tests/bench/run.sh
# and tests/gpu/check.sh run them).
warm_add_test(bench_ltxv SOURCES bench/bench_ltxv.c LIBS warm::sdk
              LABELS bench)
add_dependencies(bench_ltxv transformer_ltxv vae_ltxv warm-mkmodel)
# warmd against PyTorch on the same shapes (torch only when TORCH_PY is set).
warm_add_test(bench_vs_torch SOURCES bench/bench_vs_torch.c
              bench/bench_demo_job.c LIBS warm::sdk PkgConfig::JANSSON
              LABELS bench)
target_include_directories(bench_vs_torch PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)
# The demo_job row runs warmd on the LTX-2 demo's plugins.
add_dependencies(bench_vs_torch text_encoder_gemma3 transformer_ltxv vae_ltxv
                 warm-mkmodel warmd text_encoder_ltx2 transformer_ltx2
                 upsampler_ltx2 vae_ltx2 audio_ltx2)
warm_add_test(gpubench_ltxv SOURCES gpu/gpubench_ltxv.c LIBS warm::sdk
              LABELS bench gpu)
add_dependencies(gpubench_ltxv transformer_ltxv warm-mkmodel)

# CUDA against cpu on the same checkpoints and inputs (label gpu): skips with
# exit 77 where there is no CUDA device; tests/gpu/check.sh runs it.
ltxv_test(test_ltxv_cuda SOURCES gpu/test_ltxv_cuda.c LIBS warm::sdk
          LABELS gpu ltxv
          ARGS dit_tiny dit_tiny_p2 dit_tiny_affine vae_tiny vae_tiny_causal
               vae_tiny_t vae_tiny_tiled)
add_test(NAME test_ltxv_cuda_harness
         COMMAND test_ltxv_cuda dit_tiny dit_tiny_affine vae_tiny_causal
                 vae_tiny_tiled)
set_tests_properties(test_ltxv_cuda_harness PROPERTIES LABELS "gpu;ltxv"
                     FIXTURES_REQUIRED ltxv_checkpoints
                     ENVIRONMENT WARM_TEST_CUDA_AS_CPU=1 TIMEOUT 300)
