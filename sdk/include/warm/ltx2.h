/*
 * warm/ltx2.h — LTX-2 combined checkpoints (one .safetensors holding the
 * transformer, the text projection and connectors, the video VAE, the audio
 * VAE and the vocoder, with the model config as JSON in __metadata__).
 *
 * A plugin opens the file once (it is mmap'd by warm_st_open, nothing is
 * read until a tensor is touched), picks its component by key prefix and its
 * config by sub-object, and reads only its own tensors. Prefixes (exact):
 *
 *   WARM_LTX2_DIT          "model.diffusion_model."   transformer; the text
 *                          connectors live under it too
 *                          ("model.diffusion_model.video_embeddings_connector.")
 *   WARM_LTX2_TEXT_PROJ    "text_embedding_projection."
 *   WARM_LTX2_VAE_DEC      "vae.decoder."   WARM_LTX2_VAE_ENC  "vae.encoder."
 *   WARM_LTX2_VAE_STATS    "vae.per_channel_statistics."
 *   WARM_LTX2_AUDIO_VAE    "audio_vae."     WARM_LTX2_VOCODER  "vocoder."
 *
 * __metadata__["config"] is a JSON object with the sub-objects "transformer",
 * "vae", "audio_vae" and "vocoder"; __metadata__["model_version"] is e.g.
 * "2.3.0". The upsampler file has a flat config (warm_ltx2_config_root).
 * Values are read with the warm/model.h getters; their messages read
 * "FILE: config: transformer.num_layers: missing".
 *
 * Every error is WARM_EFORMAT (WARM_EIO for an unreadable file) and names the
 * file, the key and the problem. A handle is immutable after open:
 * concurrent readers need no lock.
 */
#ifndef WARM_LTX2_H
#define WARM_LTX2_H

#include <stddef.h>
#include <stdint.h>

#include "warm/model.h"
#include "warm/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARM_LTX2_DIT "model.diffusion_model."
#define WARM_LTX2_VIDEO_CONNECTOR                                              \
  "model.diffusion_model.video_embeddings_connector."
#define WARM_LTX2_AUDIO_CONNECTOR                                              \
  "model.diffusion_model.audio_embeddings_connector."
#define WARM_LTX2_TEXT_PROJ "text_embedding_projection."
#define WARM_LTX2_VAE "vae."
#define WARM_LTX2_VAE_DEC "vae.decoder."
#define WARM_LTX2_VAE_ENC "vae.encoder."
#define WARM_LTX2_VAE_STATS "vae.per_channel_statistics."
#define WARM_LTX2_AUDIO_VAE "audio_vae."
#define WARM_LTX2_VOCODER "vocoder."

/* Keys of config.transformer whose code defaults in the reference give a
 * different model (interleaved RoPE, an A/V gate timestep scale of 1, f32
 * frequencies, connector positions over [1]); a loader must refuse a file
 * that lacks them. NULL-terminated, for warm_ltx2_require. The first list is
 * what the transformer reads, the second what the text connectors read, the
 * third both. */
extern const char *const warm_ltx2_dit_required[];
extern const char *const warm_ltx2_connector_required[];
extern const char *const warm_ltx2_required[];

typedef struct warm_ltx2 warm_ltx2;

/* Maps the combined .safetensors once (warm_st_open), parses
 * __metadata__["config"] (JSON) and __metadata__["model_version"]. A file
 * without "config" opens (warm_ltx2_config then says what is missing); a
 * "config" that is not a JSON object is refused. The caller owns *out. */
int warm_ltx2_open(const char *path, warm_ltx2 **out, warm_error *err);
/* The same over an already open checkpoint; takes ownership of st (closed
 * by warm_ltx2_close, or here on failure). Messages name warm_st_path(st). */
int warm_ltx2_from_st(warm_st *st, warm_ltx2 **out, warm_error *err);
void warm_ltx2_close(warm_ltx2 *f);              /* NULL-safe */
const warm_st *warm_ltx2_st(const warm_ltx2 *f); /* the mapped file */
const char *warm_ltx2_path(const warm_ltx2 *f);
/* "2.3.0", or NULL when absent. */
const char *warm_ltx2_model_version(const warm_ltx2 *f);

/* A config sub-object: "transformer", "vae", "audio_vae", "vocoder". Owned
 * by f. A missing (or non-object) sub-object -> WARM_EFORMAT naming the file
 * and the key. */
int warm_ltx2_config(const warm_ltx2 *f, const char *component,
                     const warm_config **out, warm_error *err);
/* The whole config object (the upsampler's flat config). Owned by f;
 * WARM_EFORMAT when the file has no __metadata__ config. */
int warm_ltx2_config_root(const warm_ltx2 *f, const warm_config **out,
                          warm_error *err);
/* 1 when the config has the sub-object `component`, else 0. */
int warm_ltx2_has_config(const warm_ltx2 *f, const char *component);
/* The config's sub-objects, in file order: count and i-th name. */
size_t warm_ltx2_config_count(const warm_ltx2 *f);
const char *warm_ltx2_config_name(const warm_ltx2 *f, size_t i);

/* The components of a combined file, for listings: prefix and a short
 * description, NULL-terminated pairs. The transformer row counts the
 * tensors under WARM_LTX2_DIT that are not the connectors'. */
typedef struct warm_ltx2_part {
  const char *prefix;
  const char *what;
} warm_ltx2_part;
extern const warm_ltx2_part warm_ltx2_parts[];
/* Tensor count and bytes of part i of warm_ltx2_parts (the transformer
 * row without its connectors). */
uint64_t warm_ltx2_part_bytes(const warm_ltx2 *f, size_t i, size_t *count);

/* Refuses a config that lacks any of `keys` (NULL-terminated; dotted paths
 * allowed) with WARM_EFORMAT: "FILE: config.transformer.rope_type is
 * missing; its code default gives a different model". */
int warm_ltx2_require(const warm_ltx2 *f, const char *component,
                      const char *const *keys, warm_error *err);

/* Tensor under a component prefix, e.g. (f, "model.diffusion_model.",
 * "patchify_proj.weight"); NULL when absent. */
const warm_st_entry *warm_ltx2_find(const warm_ltx2 *f, const char *prefix,
                                    const char *name);
/* Like warm_st_expect for prefix+name (a dim of -1 matches anything):
 * missing tensor or wrong shape -> WARM_EFORMAT naming file, key, expected
 * and found shape. */
int warm_ltx2_expect(const warm_ltx2 *f, const char *prefix, const char *name,
                     int32_t ndim, const int64_t *shape, warm_error *err);
/* warm_ltx2_expect that also returns the cpu view of the tensor. */
int warm_ltx2_get(const warm_ltx2 *f, const char *prefix, const char *name,
                  int32_t ndim, const int64_t *shape, warm_tensor *out,
                  warm_error *err);

/* Tensor count (*count, may be NULL) and bytes under a prefix ("" = all). */
uint64_t warm_ltx2_prefix_bytes(const warm_ltx2 *f, const char *prefix,
                                size_t *count);

#ifdef __cplusplus
}
#endif
#endif /* WARM_LTX2_H */
