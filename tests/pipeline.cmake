# The pipeline's host-side pieces: sampler, embedding cache, media writers.
warm_add_test(test_sampler SOURCES unit/test_sampler.c LIBS wh_core LABELS pipeline)
warm_add_test(test_embcache SOURCES unit/test_embcache.c LIBS wh_core LABELS pipeline)
warm_add_test(test_media SOURCES unit/test_media.c LIBS wh_core PkgConfig::PNG LABELS pipeline)
warm_add_test(test_mp4 SOURCES unit/test_mp4.c LIBS wh_core LABELS pipeline)
# First-frame images against ltx-pipelines' load_image_conditioning
# (goldens: tests/parity/ltx2_image.py), and audio.wav.
warm_add_test(test_image_in SOURCES unit/test_image_in.c LIBS wh_core LABELS pipeline)
warm_add_test(test_wav SOURCES unit/test_wav.c LIBS wh_core LABELS pipeline)

# The whole pipeline on tiny real checkpoints: a Gemma-3 encoder made larger
# than the rest (so a budget can hold the transformers but not the whole
# encoder beside them), two DiT stages reading its width, the VAE.
set(PIPELINE_CKPT_DIR ${CMAKE_BINARY_DIR}/pipeline-ckpt)
function(pipeline_checkpoint name arch seed)
  add_test(NAME pipeline_ckpt_${name}
           COMMAND warm-mkmodel --arch ${arch} --preset tiny --seed ${seed}
                   --out ${PIPELINE_CKPT_DIR}/${name} ${ARGN})
  set_tests_properties(pipeline_ckpt_${name} PROPERTIES
                       FIXTURES_SETUP pipeline_checkpoints LABELS pipeline)
endfunction()
pipeline_checkpoint(enc gemma3 21 --set num_hidden_layers=12
                    --set intermediate_size=512)
pipeline_checkpoint(enc2 gemma3 22 --set num_hidden_layers=12
                    --set intermediate_size=512)
pipeline_checkpoint(dit1 ltxv 23 --set caption_channels=64)
pipeline_checkpoint(dit2 ltxv 24 --set caption_channels=64)
pipeline_checkpoint(vae ltxv-vae 25)

warm_add_test(test_pipeline SOURCES integration/test_pipeline.c
              LIBS wh_core LABELS pipeline ARGS ${PIPELINE_CKPT_DIR})
set_tests_properties(test_pipeline PROPERTIES FIXTURES_REQUIRED pipeline_checkpoints)
add_dependencies(test_pipeline warm-mkmodel text_encoder_gemma3
                 transformer_ltxv vae_ltxv)

# The encoder through the warmd binary: --encode, bad prompts and job sizes,
# a live placement switch over the admin socket.
warm_add_test(test_encoder_cli SOURCES integration/test_encoder_cli.c
              LIBS warm::sdk PkgConfig::JANSSON LABELS pipeline integration
              ARGS ${PIPELINE_CKPT_DIR})
target_include_directories(test_encoder_cli PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)
set_tests_properties(test_encoder_cli PROPERTIES FIXTURES_REQUIRED pipeline_checkpoints)
add_dependencies(test_encoder_cli warmd text_encoder_gemma3 transformer_ltxv vae_ltxv)
# The LTX-2 job flags of --once: every refusal names the flag and the rule.
warm_add_test(test_once_flags SOURCES integration/test_once_flags.c
              LIBS warm::sdk LABELS pipeline integration)
target_include_directories(test_once_flags PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)
add_dependencies(test_once_flags warmd)
