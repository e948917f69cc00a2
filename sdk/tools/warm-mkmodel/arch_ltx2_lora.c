/* --arch ltx2-lora: a ComfyUI-style LoRA for the LTX-2 transformer of the
 * same variant and preset: diffusion_model.transformer_blocks.N.<linear>.
 * lora_A.weight [rank, in] and .lora_B.weight [out, rank] for the q/k/v/out
 * projections of the six attentions and the two feed-forwards of every
 * block (or of --blocks 0,3-5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mk_ltx2.h"

/* Parses "0,3-5" into a mask of n blocks; NULL selects all. */
static int parse_blocks(const char *s, int64_t n, unsigned char *on,
                        warm_error *err) {
  memset(on, s ? 0 : 1, (size_t)n);
  while (s && *s) {
    char *e;
    long a = strtol(s, &e, 10), b = a;
    if (e == s) break;
    if (*e == '-') {
      const char *f = e + 1;
      b = strtol(f, &e, 10);
      if (e == f) break;
    }
    if (a < 0 || b < a || b >= n)
      return warm_error_set(err, WARM_EINVAL,
                            "--blocks: %ld-%ld is outside 0..%lld", a, b,
                            (long long)n - 1);
    for (long i = a; i <= b; i++)
      on[i] = 1;
    s = *e == ',' ? e + 1 : e;
    if (!*s) return 0;
    if (*e != ',') break;
  }
  if (s && *s)
    return warm_error_set(err, WARM_EINVAL,
                          "--blocks: expected a list like 0,3-5 at '%s'", s);
  return 0;
}

static int make(const mk_ctx *c, warm_error *err) {
  int v23, preset;
  int rc = lx_variant(c, &v23, err);
  rc = rc ? rc : lx_preset(c, &preset, err);
  if (rc) return rc;
  if (c->rank <= 0)
    return warm_error_set(err, WARM_EINVAL, "--rank R is required");
  json_t *cfg = NULL;
  if ((rc = lx_config(c, v23, preset, &cfg, err))) return rc;
  const json_t *tr = json_object_get(cfg, "transformer");
  int64_t layers = 0;
  char names[LX_MAX_BLOCK_LINEARS][48];
  int64_t shape[LX_MAX_BLOCK_LINEARS][2];
  int nl = 0;
  rc = lx_int(tr, "num_layers", &layers, err);
  rc = rc ? rc : lx_block_linears(tr, names, shape, &nl, err);
  unsigned char *on = malloc(layers > 0 ? (size_t)layers : 1);
  if (!rc && !on) rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
  if (!rc) rc = parse_blocks(c->blocks, layers, on, err);
  mk_plan p = {0};
  for (int64_t b = 0; !rc && b < layers; b++) {
    if (!on[b]) continue;
    for (int i = 0; !rc && i < nl; i++) {
      int64_t a[2] = {c->rank, shape[i][1]}, bb[2] = {shape[i][0], c->rank};
      rc = mk_plan_add(&p, MK_NORMAL, 0, 0.5f / (float)shape[i][1], 2, a, err,
                       "diffusion_model.transformer_blocks.%lld.%s.lora_A."
                       "weight",
                       (long long)b, names[i]);
      rc = rc ? rc
              : mk_plan_add(&p, MK_NORMAL, 0, 0.05f, 2, bb, err,
                            "diffusion_model.transformer_blocks.%lld.%s."
                            "lora_B.weight",
                            (long long)b, names[i]);
    }
  }
  if (!rc && p.n == 0)
    rc = warm_error_set(err, WARM_EINVAL, "--blocks selects no block");
  if (!rc) rc = mk_write_file(c, &p, c->out_dir, NULL, 0, err);
  free(on);
  mk_plan_free(&p);
  json_decref(cfg);
  return rc;
}

const mk_arch mk_arch_ltx2_lora = {
    "ltx2-lora", "tiny|small|full (--variant 2.0|2.3 --rank R)", make, 1};
