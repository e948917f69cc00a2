/*
 * mk_ltx2.h — the LTX-2 arches of warm-mkmodel (ltx2, ltx2-upsampler,
 * ltx2-lora): configs per variant and preset, and the tensor plans of each
 * component with ltx-core 1.0.0's exact file keys.
 *
 * The plans read every dimension from the config JSON that goes into the
 * file's __metadata__ (as ltx-core's configurators do), so what a plugin
 * reads back from the metadata is what shaped the tensors. The chosen tiny /
 * small dims are listed in docs/ltx2.md ("Files and keys").
 */
#ifndef WARM_MK_LTX2_H
#define WARM_MK_LTX2_H

#include <jansson.h>

#include "mkmodel.h"

/* The variant, checked: 0 for "2.0", 1 for "2.3", else an error. */
int lx_variant(const mk_ctx *c, int *v23, warm_error *err);
/* The preset index: 0 tiny, 1 small, 2 full, else an error. */
int lx_preset(const mk_ctx *c, int *preset, warm_error *err);

/* The combined file's config {"transformer", "vae", "audio_vae",
 * "vocoder"} for a variant and preset, with --set applied (dotted keys:
 * transformer.num_layers=4). The caller owns the result. */
int lx_config(const mk_ctx *c, int v23, int preset, json_t **out,
              warm_error *err);
/* The upsampler's flat config. */
int lx_upsampler_config(const mk_ctx *c, int v23, int preset, json_t **out,
                        warm_error *err);
/* Gemma-3 hidden size and hidden-state count (layers + 1) the text
 * projection of a preset takes (warm-mkmodel --arch gemma3, same preset). */
void lx_gemma_dims(int preset, int64_t *hidden, int64_t *states);

/* Integer / bool / string members of a config object, with an error naming
 * the key when absent or of the wrong type. */
int lx_int(const json_t *o, const char *key, int64_t *out, warm_error *err);
int lx_bool(const json_t *o, const char *key, int def);

/* ---- plans (file keys with their component prefixes) -------------------- */

/* model.diffusion_model.* of the transformer (not the connectors). */
int lx_plan_transformer(mk_plan *p, const json_t *tr, warm_error *err);
/* text_embedding_projection.* and the two connectors. */
int lx_plan_text(mk_plan *p, const json_t *tr, int preset, warm_error *err);
/* vae.decoder.*, vae.encoder.*, vae.per_channel_statistics.* */
int lx_plan_video_vae(mk_plan *p, const json_t *vae, warm_error *err);
/* audio_vae.decoder.*, audio_vae.encoder.*, audio_vae.per_channel_statistics */
int lx_plan_audio_vae(mk_plan *p, const json_t *avae, warm_error *err);
/* vocoder.* (2.0 flat, 2.3 vocoder.vocoder / bwe_generator / mel_stft). */
int lx_plan_vocoder(mk_plan *p, const json_t *voc, warm_error *err);
/* The upsampler file's keys (no prefix). */
int lx_plan_upsampler(mk_plan *p, const json_t *cfg, warm_error *err);

/* Shared plan helpers: a Linear (weight [out, in] ~ N(0, 0.5/sqrt(in)),
 * bias ~ N(0, 0.02)), a norm weight (~ 1 + N(0, 0.05)), a table
 * (~ N(0, 0.05)), a conv of any rank (weight [out, in, k...]). */
int lx_linear(mk_plan *p, const char *name, int64_t out, int64_t in, int bias,
              warm_error *err);
int lx_norm(mk_plan *p, const char *name, int64_t n, warm_error *err);
int lx_table(mk_plan *p, const char *name, int64_t rows, int64_t n,
             warm_error *err);
int lx_conv(mk_plan *p, const char *name, int64_t out, int64_t in, int nk,
            const int64_t *k, int bias, warm_error *err);

/* The linears of one transformer block a LoRA covers (q/k/v/out of the six
 * attentions and the two feed-forwards), in file order: fills names (e.g.
 * "attn1.to_q"), their [out, in] and *count (at most
 * LX_MAX_BLOCK_LINEARS). */
#define LX_MAX_BLOCK_LINEARS 40
int lx_block_linears(const json_t *tr, char names[][48], int64_t (*shape)[2],
                     int *count, warm_error *err);

#endif /* WARM_MK_LTX2_H */
