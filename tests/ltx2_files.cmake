# LTX-2 checkpoint files: the combined-checkpoint reader (warm/ltx2.h), the
# LoRA reader (warm/lora.h), warm-mkmodel's ltx2 arches and warm-inspect on
# them. Label: ltx2_files (and weights).
warm_add_test(test_ltx2_ckpt SOURCES unit/test_ltx2_ckpt.c
              LIBS warm::sdk LABELS ltx2_files weights unit)
