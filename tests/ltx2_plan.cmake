# LTX-2 pipelines on paper: `warmd -t` wiring checks of the [pipeline] and
# the job rules (label ltx2_wiring), and `warmd --plan` on full-size sparse
# files (label ltx2_plan). Each test makes its files with warm-mkmodel in a
# temporary folder.
warm_add_test(test_ltx2_wiring SOURCES integration/test_ltx2_wiring.c
              LIBS wh_core LABELS ltx2_wiring integration)
target_include_directories(test_ltx2_wiring PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)
add_dependencies(test_ltx2_wiring warmd warm-mkmodel transformer_ltx2
                 text_encoder_ltx2 vae_ltx2 upsampler_ltx2 audio_ltx2)

# warmd --plan on sparse full-size LTX-2.3 files (about 80 GB apparent, a
# few MB on disk), no GPU needed.
warm_add_test(test_ltx2_plan SOURCES integration/test_ltx2_plan.c
              LIBS warm::sdk LABELS ltx2_plan integration)
target_include_directories(test_ltx2_plan PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)
add_dependencies(test_ltx2_plan warmd warm-mkmodel transformer_ltx2
                 text_encoder_ltx2 vae_ltx2 upsampler_ltx2 audio_ltx2)
