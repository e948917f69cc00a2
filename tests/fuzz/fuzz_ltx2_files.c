/* libFuzzer target: an in-memory safetensors image read as an LTX-2
 * combined checkpoint (metadata config split into components, required
 * keys, prefix sums) and as a LoRA file (A/B pairing, lookups, base checks
 * and, for small pairs, a fuse into a scratch buffer). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "warm/lora.h"
#include "warm/ltx2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void as_ltx2(const uint8_t *data, size_t size) {
  warm_st *st = NULL;
  warm_error err;
  if (warm_st_open_buffer(data, size, "fuzz", &st, &err) != 0) return;
  warm_ltx2 *f = NULL;
  if (warm_ltx2_from_st(st, &f, &err) != 0) return;
  static const char *const comps[] = {"transformer", "vae", "audio_vae",
                                      "vocoder", "x"};
  for (int i = 0; i < 5; i++) {
    const warm_config *c;
    if (warm_ltx2_config(f, comps[i], &c, &err) == 0) {
      int64_t v;
      (void)warm_config_int(c, "num_layers", &v, &err);
    }
    (void)warm_ltx2_require(f, comps[i], warm_ltx2_required, &err);
  }
  for (size_t i = 0; i < warm_ltx2_config_count(f); i++)
    if (!warm_ltx2_has_config(f, warm_ltx2_config_name(f, i))) __builtin_trap();
  size_t n, total = 0;
  for (size_t i = 0; warm_ltx2_parts[i].prefix; i++)
    (void)warm_ltx2_part_bytes(f, i, &n);
  (void)warm_ltx2_prefix_bytes(f, "", &total);
  if (total != warm_st_count(warm_ltx2_st(f))) __builtin_trap();
  int64_t shape[2] = {-1, -1};
  (void)warm_ltx2_expect(f, WARM_LTX2_DIT, "patchify_proj.weight", 2, shape,
                         &err);
  warm_ltx2_close(f);
}

static void as_lora(const uint8_t *data, size_t size) {
  warm_st *st = NULL, *base = NULL;
  warm_error err;
  if (warm_st_open_buffer(data, size, "fuzz", &st, &err) != 0) return;
  if (warm_st_open_buffer(data, size, "base", &base, &err) != 0) {
    warm_st_close(st);
    return;
  }
  warm_lora *l = NULL;
  if (warm_lora_from_st(st, &l, &err) == 0) {
    for (size_t i = 0; i < warm_lora_count(l); i++) {
      const warm_lora_pair *p = warm_lora_at(l, i);
      if (warm_lora_find(l, p->key) != p) __builtin_trap();
      if (p->out <= 64 && p->in <= 64 && p->rank <= 64) {
        float *w = calloc((size_t)(p->out * p->in), sizeof *w);
        if (w &&
            warm_lora_fuse(l, p, 0.5f, w, WARM_F32, p->out, p->in, &err) != 0)
          __builtin_trap();
        free(w);
      }
    }
    (void)warm_lora_check_base(l, base, "", &err);
    warm_lora_close(l);
  }
  warm_st_close(base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  as_ltx2(data, size);
  as_lora(data, size);
  return 0;
}
