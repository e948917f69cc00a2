/*
 * Bad input to transformer_ltxv / vae_ltxv gets a clear error naming what
 * and where, never a crash, and leaves no allocation behind: checkpoints
 * with a missing or mis-shaped tensor, configs diffusers would refuse,
 * unknown plugin keys, run inputs that are missing, mis-shaped or not
 * divisible by the patch size.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "test_ltxv_host.h"

static char tmpdir[256];

/* Copies checkpoint `src` to tmpdir/name, dropping tensor `drop` and giving
 * tensor `reshape` (if any) the shape [d0, d1] over its first bytes; the
 * config text gets `from` replaced by `to` (if given). */
static const char *copy_ckpt(const char *src, const char *name,
                             const char *drop, const char *reshape, int64_t d0,
                             int64_t d1, const char *from, const char *to) {
  static char dir[512];
  snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
  mkdir(dir, 0755);
  warm_error err = {0};
  warm_st *st = NULL;
  if (warm_st_open(src, &st, &err)) {
    fprintf(stderr, "copy_ckpt: %s\n", err.msg);
    return NULL;
  }
  size_t n = warm_st_count(st), k = 0;
  warm_tensor *ts = calloc(n, sizeof *ts);
  for (size_t i = 0; i < n; i++) {
    const warm_st_entry *e = warm_st_at(st, i);
    if (drop && !strcmp(e->name, drop)) continue;
    warm_st_get(st, e->name, &ts[k], &err);
    if (reshape && !strcmp(e->name, reshape)) {
      ts[k].ndim = 2;
      ts[k].shape[0] = d0;
      ts[k].shape[1] = d1;
    }
    k++;
  }
  char path[768];
  snprintf(path, sizeof path, "%s/diffusion_pytorch_model.safetensors", dir);
  int rc = warm_st_write_file(path, ts, k, NULL, 0, &err);
  free(ts);
  warm_st_close(st);
  if (rc) {
    fprintf(stderr, "copy_ckpt: %s\n", err.msg);
    return NULL;
  }
  char cin[768], cout[768];
  snprintf(cin, sizeof cin, "%s/config.json", src);
  snprintf(cout, sizeof cout, "%s/config.json", dir);
  FILE *f = fopen(cin, "rb");
  char text[8192];
  size_t len = f ? fread(text, 1, sizeof text - 1, f) : 0;
  if (f) fclose(f);
  text[len] = 0;
  char *hit = from ? strstr(text, from) : NULL;
  f = fopen(cout, "wb");
  if (!f) return NULL;
  if (hit) {
    fwrite(text, 1, (size_t)(hit - text), f);
    fputs(to, f);
    fputs(hit + strlen(from), f);
  } else {
    fputs(text, f);
  }
  fclose(f);
  return dir;
}

/* create() must fail with `code` and a message containing `needle`. */
static void expect_create_fails(const char *plugin, const char *weights,
                                const char *key, const char *val, int code,
                                const char *needle, const char *what) {
  lt_host h;
  if (lt_host_init(&h, plugin, 1ull << 30)) {
    lt_failures++;
    return;
  }
  if (key) lt_key(&h, key, val);
  warm_component_config cfg = lt_config(&h, weights, WARM_F32);
  warm_instance *inst = NULL;
  warm_error err = {0};
  int rc = h.desc->create(&h.svc, &cfg, &inst, &err);
  LT_CHECK(rc == code && strstr(err.msg, needle),
           "%s: rc %d (want %d), message \"%s\" (want \"%s\")", what, rc, code,
           err.msg, needle);
  printf("%-34s -> %s\n", what, err.msg);
  if (!rc) h.desc->destroy(inst);
  if (h.desc->validate) {
    warm_error e2 = {0};
    LT_CHECK(h.desc->validate(&h.svc, &cfg, &e2) == code,
             "%s: validate did not refuse (%s)", what, e2.msg);
  }
  lt_host_fini(&h);
}

/* run() with these inputs must fail with `code` and `needle`. */
static void expect_run_fails(const char *plugin, const char *weights,
                             const warm_tensor *in, uint32_t n, int code,
                             const char *needle, const char *what) {
  lt_host h;
  if (lt_host_init(&h, plugin, 1ull << 30)) {
    lt_failures++;
    return;
  }
  warm_component_config cfg = lt_config(&h, weights, WARM_F32);
  warm_instance *inst = NULL;
  warm_error err = {0};
  if (h.desc->create(&h.svc, &cfg, &inst, &err)) {
    LT_CHECK(0, "%s: create: %s", what, err.msg);
    lt_host_fini(&h);
    return;
  }
  warm_run_args a;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.n_inputs = n;
  a.inputs = in;
  int rc = h.desc->run(inst, &a, &err);
  LT_CHECK(rc == WARM_EINVAL && strstr(err.msg, "before place"),
           "%s: run before place gave %d: %s", what, rc, err.msg);
  warm_place_req req = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  LT_CHECK(h.desc->place(inst, &req, &err) == 0, "%s: place: %s", what,
           err.msg);
  rc = h.desc->run(inst, &a, &err);
  LT_CHECK(rc == code && strstr(err.msg, needle),
           "%s: rc %d (want %d), message \"%s\" (want \"%s\")", what, rc, code,
           err.msg, needle);
  LT_CHECK(a.n_outputs == 0, "%s: outputs on failure", what);
  printf("%-34s -> %s\n", what, err.msg);
  h.desc->destroy(inst);
  lt_host_fini(&h);
}

static warm_tensor mk(const char *name, warm_dtype dt, int nd, int64_t a,
                      int64_t b, int64_t c, int64_t d, int64_t e) {
  int64_t s[5] = {a, b, c, d, e};
  warm_tensor t;
  warm_tensor_alloc(&t, name, dt, nd, s);
  if (dt == WARM_I32)
    for (int64_t i = 0; i < warm_tensor_numel(&t); i++)
      ((int32_t *)t.data)[i] = 1;
  return t;
}

static void dit_inputs(void) {
  const char *ck = LT_CKPT "/dit_tiny", *p2 = LT_CKPT "/dit_tiny_p2";
  warm_tensor in[4] = {
      mk("latents", WARM_F32, 5, 1, 8, 2, 2, 2),
      mk("timestep", WARM_F32, 1, 1, 0, 0, 0, 0),
      mk("embeddings", WARM_F32, 3, 1, 3, 24, 0, 0),
      mk("mask", WARM_I32, 2, 1, 3, 0, 0, 0),
  };
  expect_run_fails("transformer_ltxv", ck, in, 3, WARM_EINVAL,
                   "\"mask\" is missing", "dit: mask missing");
  warm_tensor bad_c = mk("latents", WARM_F32, 5, 1, 5, 2, 2, 2);
  warm_tensor v1[4] = {bad_c, in[1], in[2], in[3]};
  expect_run_fails("transformer_ltxv", ck, v1, 4, WARM_EINVAL,
                   "latents have 5 channels", "dit: wrong latent channels");
  warm_tensor bad_e = mk("embeddings", WARM_F32, 3, 1, 3, 23, 0, 0);
  warm_tensor v2[4] = {in[0], in[1], bad_e, in[3]};
  expect_run_fails("transformer_ltxv", ck, v2, 4, WARM_EINVAL,
                   "caption_channels", "dit: wrong caption width");
  warm_tensor bad_m = mk("mask", WARM_I32, 2, 1, 4, 0, 0, 0);
  warm_tensor v3[4] = {in[0], in[1], in[2], bad_m};
  expect_run_fails("transformer_ltxv", ck, v3, 4, WARM_EINVAL,
                   "mask has shape [1, 4]", "dit: mask/embeddings mismatch");
  warm_tensor bad_t = mk("timestep", WARM_F32, 1, 2, 0, 0, 0, 0);
  warm_tensor v4[4] = {in[0], bad_t, in[2], in[3]};
  expect_run_fails("transformer_ltxv", ck, v4, 4, WARM_EINVAL,
                   "timestep has shape [2]", "dit: timestep batch");
  warm_tensor bad_dt = mk("latents", WARM_I32, 5, 1, 8, 2, 2, 2);
  warm_tensor v5[4] = {bad_dt, in[1], in[2], in[3]};
  expect_run_fails("transformer_ltxv", ck, v5, 4, WARM_EINVAL,
                   "must be a host f32", "dit: latents dtype");
  /* patch 2 x 2 x 2, 4 latent channels: F = 3 is not divisible. */
  warm_tensor odd = mk("latents", WARM_F32, 5, 1, 4, 3, 4, 6);
  warm_tensor e5 = mk("embeddings", WARM_F32, 3, 1, 3, 24, 0, 0);
  warm_tensor v6[4] = {odd, in[1], e5, in[3]};
  expect_run_fails("transformer_ltxv", p2, v6, 4, WARM_EINVAL,
                   "not divisible by the patch size",
                   "dit: latents not divisible by patch");
  warm_tensor all[] = {bad_c, bad_e, bad_m, bad_t, bad_dt, odd, e5};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++)
    warm_tensor_free(&all[i]);
  for (int i = 0; i < 4; i++)
    warm_tensor_free(&in[i]);
}

static void vae_inputs(void) {
  const char *ck = LT_CKPT "/vae_tiny";
  warm_tensor bad = mk("latents", WARM_F32, 4, 7, 2, 3, 4, 0);
  expect_run_fails("vae_ltxv", ck, &bad, 1, WARM_EINVAL,
                   "latents have 7 channels", "vae: wrong latent channels");
  warm_tensor b5 = mk("latents", WARM_F32, 5, 2, 8, 2, 3, 4);
  expect_run_fails("vae_ltxv", ck, &b5, 1, WARM_EINVAL, "[1, C, F, H, W]",
                   "vae: batch of 2");
  warm_tensor ok = mk("latents", WARM_F32, 4, 8, 2, 3, 4, 0);
  warm_tensor tt = mk("timestep", WARM_F32, 1, 3, 0, 0, 0, 0);
  warm_tensor v[2] = {ok, tt};
  expect_run_fails("vae_ltxv", ck, v, 2, WARM_EINVAL,
                   "\"timestep\" must be one f32", "vae: timestep shape");
  expect_run_fails("vae_ltxv", ck, &tt, 1, WARM_EINVAL,
                   "\"latents\" is missing", "vae: latents missing");
  warm_tensor_free(&bad);
  warm_tensor_free(&b5);
  warm_tensor_free(&ok);
  warm_tensor_free(&tt);
}

static void checkpoints(void) {
  const char *ck = LT_CKPT "/dit_tiny", *vk = LT_CKPT "/vae_tiny";
  const char *d;
  d = copy_ckpt(ck, "dit_missing", "transformer_blocks.1.attn2.to_k.weight",
                NULL, 0, 0, NULL, NULL);
  expect_create_fails("transformer_ltxv", d, NULL, NULL, WARM_EFORMAT,
                      "transformer_blocks.1.attn2.to_k.weight",
                      "dit: missing tensor");
  d = copy_ckpt(ck, "dit_shape", NULL, "proj_in.weight", 16, 4, NULL, NULL);
  expect_create_fails("transformer_ltxv", d, NULL, NULL, WARM_EFORMAT,
                      "proj_in.weight", "dit: mis-shaped tensor");
  d = copy_ckpt(ck, "dit_cross", NULL, NULL, 0, 0,
                "\"cross_attention_dim\": 16", "\"cross_attention_dim\": 12");
  expect_create_fails("transformer_ltxv", d, NULL, NULL, WARM_EFORMAT,
                      "cross_attention_dim 12", "dit: cross dim != width");
  d = copy_ckpt(ck, "dit_qk", NULL, NULL, 0, 0, "rms_norm_across_heads",
                "layer_norm");
  expect_create_fails("transformer_ltxv", d, NULL, NULL, WARM_EFORMAT,
                      "qk_norm", "dit: unsupported qk_norm");
  expect_create_fails("transformer_ltxv", ck, "fpss", "24", WARM_EINVAL,
                      "unknown key \"fpss\"", "dit: unknown plugin key");
  expect_create_fails("transformer_ltxv", ck, "fps", "-3", WARM_EINVAL,
                      "key fps", "dit: bad fps");
  expect_create_fails("transformer_ltxv", ck, "bf16_activations", "1",
                      WARM_EINVAL, "bf16_activations",
                      "dit: bad bf16_activations");
  expect_create_fails("transformer_ltxv", LT_CKPT "/nope", NULL, NULL, WARM_EIO,
                      "nope", "dit: no such folder");
  d = copy_ckpt(vk, "vae_missing",
                "decoder.up_blocks.1.upsamplers.0.conv.conv.bias", NULL, 0, 0,
                NULL, NULL);
  expect_create_fails("vae_ltxv", d, NULL, NULL, WARM_EFORMAT,
                      "decoder.up_blocks.1.upsamplers.0.conv.conv.bias",
                      "vae: missing tensor");
  d = copy_ckpt(vk, "vae_noise", NULL, NULL, 0, 0,
                "\"decoder_inject_noise\": [\n    false",
                "\"decoder_inject_noise\": [\n    true");
  expect_create_fails("vae_ltxv", d, NULL, NULL, WARM_EFORMAT,
                      "decoder_inject_noise", "vae: inject_noise refused");
  expect_create_fails("vae_ltxv", vk, "tile_stride", "9999", WARM_EINVAL,
                      "tile_stride", "vae: stride > tile");
  expect_create_fails("vae_ltxv", vk, "tiles", "1", WARM_EINVAL,
                      "unknown key \"tiles\"", "vae: unknown plugin key");
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "%s/ltxv-errors-XXXXXX", WARM_BUILD_DIR);
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  checkpoints();
  dit_inputs();
  vae_inputs();
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  if (lt_failures) fprintf(stderr, "%d failure(s)\n", lt_failures);
  return lt_failures ? 1 : 0;
}
