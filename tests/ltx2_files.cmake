# LTX-2 checkpoint files: the combined-checkpoint reader (warm/ltx2.h), the
# LoRA reader (warm/lora.h), warm-mkmodel's ltx2 arches and warm-inspect on
# them. Label: ltx2_files (and weights).
warm_add_test(test_ltx2_ckpt SOURCES unit/test_ltx2_ckpt.c
              LIBS warm::sdk LABELS ltx2_files weights unit)
# warm-mkmodel's ltx2 arches: full --sparse against the production goldens
# (tests/data/ltx2, written by tests/parity/ltx2_keys.py golden), tiny files
# read back with warm/ltx2.h, LoRA against its base, refusals.
warm_add_test(test_ltx2_files SOURCES unit/test_ltx2_files.c
              LIBS warm::sdk LABELS ltx2_files weights unit)
add_dependencies(test_ltx2_files warm-mkmodel warm-inspect)
warm_add_test(test_lora SOURCES unit/test_lora.c
              LIBS warm::sdk LABELS ltx2_files weights unit)
