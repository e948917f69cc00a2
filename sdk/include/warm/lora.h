/*
 * warm/lora.h — LoRA files (ComfyUI / LTX-2 style) and their fusion.
 *
 * A LoRA file holds, per adapted linear P of the base model, the pair
 * `P.lora_A.weight` [r, in] and `P.lora_B.weight` [out, r], usually under
 * the prefix `diffusion_model.` (stripped here, as ltx-core's
 * LTXV_LORA_COMFY_RENAMING_MAP does). The module key P is then the base
 * model's key without its own prefix and without `.weight`, e.g.
 * `transformer_blocks.3.attn1.to_q` for the base tensor
 * `model.diffusion_model.transformer_blocks.3.attn1.to_q.weight`.
 *
 * The reference fuses W' = W + strength * (B . A) with no alpha or rank
 * scaling; warm_lora_fuse does the same, computing B . A in f32 (OpenBLAS)
 * and rounding once into the weight's dtype. A run-time adapter reads the
 * pair's A and B views directly (y += s * (x . A^T) . B^T).
 *
 * The file is mapped once (warm_st_open); views live until warm_lora_close.
 * Errors are WARM_EFORMAT (WARM_EIO for an unreadable file) and name the
 * file(s), the key and the problem. A handle is immutable after open:
 * concurrent readers need no lock.
 */
#ifndef WARM_LORA_H
#define WARM_LORA_H

#include <stddef.h>
#include <stdint.h>

#include "warm/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct warm_lora warm_lora;

/* One adapted linear. */
typedef struct warm_lora_pair {
  const char *key; /* module key, e.g. "transformer_blocks.3.attn1.to_q" */
  int64_t rank, in, out;
  warm_tensor a; /* lora_A [rank, in], a cpu view into the mapping */
  warm_tensor b; /* lora_B [out, rank] */
} warm_lora_pair;

/* Maps the file and pairs its tensors. Refused: a lora_A without its lora_B
 * (or the reverse), a pair whose shapes are not [r, in] / [out, r] with one
 * r (all dims > 0), a dtype other than f32 / bf16 / f16. Tensors that are
 * neither (an `alpha`, say) are ignored, as the reference ignores them;
 * their count is warm_lora_ignored(). The caller owns *out. */
int warm_lora_open(const char *path, warm_lora **out, warm_error *err);
/* The same over an already open checkpoint; takes ownership of st (closed
 * by warm_lora_close, or here on failure). */
int warm_lora_from_st(warm_st *st, warm_lora **out, warm_error *err);
void warm_lora_close(warm_lora *l); /* NULL-safe */
const char *warm_lora_path(const warm_lora *l);
const warm_st *warm_lora_st(const warm_lora *l);
size_t warm_lora_ignored(const warm_lora *l);

/* The covered module keys, sorted by key: count and i-th pair. */
size_t warm_lora_count(const warm_lora *l);
const warm_lora_pair *warm_lora_at(const warm_lora *l, size_t i);
/* The pair for a module key ("transformer_blocks.3.attn1.to_q"); NULL when
 * the LoRA does not cover it. */
const warm_lora_pair *warm_lora_find(const warm_lora *l, const char *key);

/* Checks the pair for `key` against a base weight of shape [out, in]:
 * WARM_EFORMAT naming the LoRA file, the base file `base_path`, the key and
 * both shapes when they disagree; WARM_EINVAL when `key` is not covered. */
int warm_lora_check(const warm_lora *l, const char *key, const char *base_path,
                    int64_t out, int64_t in, warm_error *err);
/* Checks every pair against the base checkpoint: `prefix` + key + ".weight"
 * must exist, be 2-D and match. The first failure is returned. */
int warm_lora_check_base(const warm_lora *l, const warm_st *base,
                         const char *prefix, warm_error *err);

/* w[out, in] (host, row-major, f32 or bf16) += strength * (B . A) for the
 * pair, B . A in f32, one rounding per element for bf16. out / in must be
 * the pair's (WARM_EFORMAT naming the key otherwise). Allocates
 * warm_lora_fuse_scratch(p) bytes of host scratch for the call (a caller
 * that books host memory books that much). */
int warm_lora_fuse(const warm_lora *l, const warm_lora_pair *p, float strength,
                   void *w, warm_dtype dt, int64_t out, int64_t in,
                   warm_error *err);
/* Host scratch bytes warm_lora_fuse uses for pair p. */
size_t warm_lora_fuse_scratch(const warm_lora_pair *p);

#ifdef __cplusplus
}
#endif
#endif /* WARM_LORA_H */
