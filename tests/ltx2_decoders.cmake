# LTX-2 decoder plugins (vae_ltx2, upsampler_ltx2, audio_ltx2), label
# ltx2_dec. The model files are made by the ltx2_dec_models fixture with
# warm-mkmodel under <build>/ltx2-dec-ckpt, with the variants and seeds that
# tests/parity/ltx2_decoders.py used for the goldens in data/ltx2.
set(LTX2_DEC_CKPT_DIR ${CMAKE_BINARY_DIR}/ltx2-dec-ckpt)

function(ltx2_dec_model name arch variant seed)
  add_test(NAME ltx2_dec_model_${name}
           COMMAND warm-mkmodel --arch ${arch} --variant ${variant}
                   --preset tiny --seed ${seed}
                   --out ${LTX2_DEC_CKPT_DIR}/${name}.safetensors ${ARGN})
  set_tests_properties(ltx2_dec_model_${name} PROPERTIES
                       FIXTURES_SETUP ltx2_dec_models LABELS ltx2_dec)
endfunction()

ltx2_dec_model(ltx2_20 ltx2 2.0 20)
ltx2_dec_model(ltx2_23 ltx2 2.3 23)
ltx2_dec_model(up_20 ltx2-upsampler 2.0 30)
ltx2_dec_model(up_23 ltx2-upsampler 2.3 33)

warm_add_test(test_ltx2_decoders SOURCES unit/test_ltx2_decoders.c
              LIBS warm::sdk LABELS ltx2_dec
              ARGS ltx2_20_vae_decode ltx2_20_vae_decode_tiled vae_tc_decode
                   ltx2_23_vae_decode ltx2_20_vae_encode ltx2_23_vae_encode
                   ltx2_20_audio_decode ltx2_20_vocoder ltx2_23_audio_decode
                   ltx2_23_vocoder
                   up_20_upsample up_23_upsample
                   --tiled-memory ltx2_20 --errors)
set_tests_properties(test_ltx2_decoders PROPERTIES
                     FIXTURES_REQUIRED ltx2_dec_models)
add_dependencies(test_ltx2_decoders vae_ltx2 audio_ltx2 upsampler_ltx2
                 warm-mkmodel)

# The same parity cases on cuda:0 (label gpu; exits 77 without a GPU).
add_test(NAME test_ltx2_decoders_cuda
         COMMAND test_ltx2_decoders --cuda ltx2_20_vae_decode
                 ltx2_20_vae_decode_tiled vae_tc_decode ltx2_23_vae_decode
                 ltx2_20_vae_encode ltx2_23_vae_encode ltx2_20_audio_decode
                 ltx2_20_vocoder ltx2_23_audio_decode ltx2_23_vocoder
                 up_20_upsample up_23_upsample --tiled-memory ltx2_20)
set_tests_properties(test_ltx2_decoders_cuda PROPERTIES LABELS gpu
                     FIXTURES_REQUIRED ltx2_dec_models SKIP_RETURN_CODE 77
                     TIMEOUT 600)

# The SDK's conformance checker (estimates vs ledger peaks, allocation
# failures, cancellation, placements agreeing, fingerprints, info).
if(TARGET warm-plugin-check)
  add_test(NAME ltx2_dec_plugin_check_vae
           COMMAND warm-plugin-check $<TARGET_FILE:vae_ltx2>
                   --weights ${LTX2_DEC_CKPT_DIR}/ltx2_20.safetensors
                   --config tile_size=64 --config tile_overlap=32
                   --config tile_frames=16 --config tile_frames_overlap=8
                   --shape frames=17,height=96,width=64,batch=1
                   --input latents=8x3x3x2)
  add_test(NAME ltx2_dec_plugin_check_audio
           COMMAND warm-plugin-check $<TARGET_FILE:audio_ltx2>
                   --weights ${LTX2_DEC_CKPT_DIR}/ltx2_20.safetensors
                   --shape frames=9,height=32,width=32,batch=1)
  add_test(NAME ltx2_dec_plugin_check_audio23
           COMMAND warm-plugin-check $<TARGET_FILE:audio_ltx2>
                   --weights ${LTX2_DEC_CKPT_DIR}/ltx2_23.safetensors
                   --shape frames=9,height=32,width=32,batch=1)
  add_test(NAME ltx2_dec_plugin_check_upsampler
           COMMAND warm-plugin-check $<TARGET_FILE:upsampler_ltx2>
                   --weights ${LTX2_DEC_CKPT_DIR}/up_23.safetensors
                   --shape frames=9,height=256,width=256,batch=1)
  set_tests_properties(ltx2_dec_plugin_check_vae ltx2_dec_plugin_check_audio
                       ltx2_dec_plugin_check_audio23
                       ltx2_dec_plugin_check_upsampler PROPERTIES
                       FIXTURES_REQUIRED ltx2_dec_models LABELS ltx2_dec)
endif()

# `warmd -t` validates the three plugins (every tensor and key checked, no
# device touched), and names a bad plugin key with its file and line.
if(TARGET warmd)
  foreach(variant good bad)
    if(variant STREQUAL "good")
      set(tile "tile_size = 64\ntile_overlap = 32")
    else()
      set(tile "tile_size = 70")
    endif()
    file(WRITE ${CMAKE_BINARY_DIR}/ltx2-dec-${variant}.ini
"[host]
plugin_dir = ${WARM_PLUGIN_OUTPUT_DIR}
admin_socket = ${CMAKE_BINARY_DIR}/ltx2-dec-check.sock
output_dir = ${CMAKE_BINARY_DIR}/ltx2-dec-out
[device cpu]
budget = 2GiB
[component vae]
plugin = vae_ltx2
weights = ${LTX2_DEC_CKPT_DIR}/ltx2_20.safetensors
device = cpu
placement = auto
${tile}
[component upsampler]
plugin = upsampler_ltx2
weights = ${LTX2_DEC_CKPT_DIR}/up_20.safetensors
device = cpu
placement = resident
[component audio]
plugin = audio_ltx2
weights = ${LTX2_DEC_CKPT_DIR}/ltx2_23.safetensors
device = cpu
placement = stream
")
    add_test(NAME ltx2_dec_warmd_check_${variant}
             COMMAND warmd -t -c ${CMAKE_BINARY_DIR}/ltx2-dec-${variant}.ini)
    set_tests_properties(ltx2_dec_warmd_check_${variant} PROPERTIES
                         FIXTURES_REQUIRED ltx2_dec_models LABELS ltx2_dec)
  endforeach()
  set_tests_properties(ltx2_dec_warmd_check_good PROPERTIES
                       PASS_REGULAR_EXPRESSION "configuration OK \\(3 components")
  set_tests_properties(ltx2_dec_warmd_check_bad PROPERTIES
                       PASS_REGULAR_EXPRESSION
                       "ltx2-dec-bad.ini:7: vae \\(vae_ltx2\\): validate: .*multiples of 32")
endif()
