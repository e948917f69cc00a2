# LTX-Video DiT and VAE plugin tests (label ltxv). The checkpoints they read
# are made by the ltxv_checkpoints fixture with warm-mkmodel under
# <build>/ltxv-ckpt; the goldens in data/ltxv come from tests/parity/ltxv.py.
set(LTXV_CKPT_DIR ${CMAKE_BINARY_DIR}/ltxv-ckpt)

warm_add_test(test_ltxv_parity SOURCES unit/test_ltxv_parity.c
              LIBS warm::sdk LABELS ltxv
              ARGS dit_tiny dit_tiny_p2 vae_tiny vae_tiny_t vae_tiny_tiled)
