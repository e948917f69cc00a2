/* The LoRA reader (warm/lora.h): pairing and prefix stripping, refusals
 * naming file and key, shape checks against a base, and fusion
 * W += s * (B . A) in f32 and bf16 against a naive double-precision loop
 * (fresh random inputs each run; the seed is printed). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../sdk/check.h"
#include "warm/lora.h"
#include "warm/warm.h"
#include "wk.h"

static char tmpdir[256];
static unsigned seed;

static float frand(void) {
  return (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
}

static float *rand_f32(size_t n, float scale) {
  float *x = malloc(n * sizeof *x);
  for (size_t i = 0; i < n; i++)
    x[i] = frand() * scale;
  return x;
}

static uint16_t *to_bf16(const float *x, size_t n) {
  uint16_t *h = malloc(n * sizeof *h);
  for (size_t i = 0; i < n; i++)
    h[i] = wk_f32_to_bf16(x[i]);
  return h;
}

static void path_of(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", tmpdir, name);
}

/* A LoRA with two modules (one with the diffusion_model. prefix, one
 * without) and an alpha tensor, A and B in bf16. */
typedef struct fixture {
  int64_t r, in, out;
  float *a, *b; /* f32 values of the stored bf16 */
  uint16_t *ah, *bh;
} fixture;

static void fixture_make(fixture *fx, int64_t r, int64_t in, int64_t out) {
  fx->r = r;
  fx->in = in;
  fx->out = out;
  fx->a = rand_f32((size_t)(r * in), 0.5f);
  fx->b = rand_f32((size_t)(out * r), 0.5f);
  fx->ah = to_bf16(fx->a, (size_t)(r * in));
  fx->bh = to_bf16(fx->b, (size_t)(out * r));
  for (int64_t i = 0; i < r * in; i++)
    fx->a[i] = wk_bf16_to_f32(fx->ah[i]);
  for (int64_t i = 0; i < out * r; i++)
    fx->b[i] = wk_bf16_to_f32(fx->bh[i]);
}

static void fixture_free(fixture *fx) {
  free(fx->a);
  free(fx->b);
  free(fx->ah);
  free(fx->bh);
}

static int write_lora(const char *path, const fixture *fx, int drop_b,
                      int64_t bad_rank) {
  static float alpha = 8.0f;
  warm_tensor t[5] = {
      {.name = "diffusion_model.transformer_blocks.1.attn1.to_q.lora_A.weight",
       .dtype = WARM_BF16,
       .ndim = 2,
       .shape = {fx->r, fx->in},
       .data = fx->ah},
      {.name = "diffusion_model.transformer_blocks.1.attn1.to_q.lora_B.weight",
       .dtype = WARM_BF16,
       .ndim = 2,
       .shape = {fx->out, bad_rank ? bad_rank : fx->r},
       .data = fx->bh},
      {.name = "transformer_blocks.0.ff.net.2.lora_A.weight",
       .dtype = WARM_BF16,
       .ndim = 2,
       .shape = {fx->r, fx->in},
       .data = fx->ah},
      {.name = "transformer_blocks.0.ff.net.2.lora_B.weight",
       .dtype = WARM_BF16,
       .ndim = 2,
       .shape = {fx->out, fx->r},
       .data = fx->bh},
      {.name = "transformer_blocks.0.ff.net.2.alpha",
       .dtype = WARM_F32,
       .ndim = 0,
       .data = &alpha},
  };
  warm_tensor keep[5];
  size_t n = 0;
  for (int i = 0; i < 5; i++)
    if (!(drop_b && i == 1)) keep[n++] = t[i];
  warm_error err = {0};
  int rc = warm_st_write_file(path, keep, n, NULL, 0, &err);
  if (rc) fprintf(stderr, "write_lora: %s\n", err.msg);
  return rc;
}

static void test_pairs_are_found_and_prefix_stripped(void) {
  fixture fx;
  fixture_make(&fx, 3, 10, 7);
  char p[300];
  path_of(p, sizeof p, "ok.safetensors");
  CHECK(write_lora(p, &fx, 0, 0) == 0);
  warm_lora *l = NULL;
  warm_error err = {0};
  CHECK(warm_lora_open(p, &l, &err) == 0);
  if (l) {
    CHECK(warm_lora_count(l) == 2);
    CHECK(warm_lora_ignored(l) == 1);
    CHECK(strcmp(warm_lora_at(l, 0)->key, "transformer_blocks.0.ff.net.2") ==
          0);
    CHECK(strcmp(warm_lora_at(l, 1)->key, "transformer_blocks.1.attn1.to_q") ==
          0);
    const warm_lora_pair *q =
        warm_lora_find(l, "transformer_blocks.1.attn1.to_q");
    CHECK(q && q->rank == 3 && q->in == 10 && q->out == 7);
    CHECK(q && q->a.dtype == WARM_BF16 && q->b.shape[0] == 7);
    CHECK(q && warm_lora_fuse_scratch(q) == (3 * 10 + 64 * 3 + 64 * 10) * 4);
    CHECK(warm_lora_find(l, "transformer_blocks.1.attn1.to_k") == NULL);
    CHECK(warm_lora_check(l, "transformer_blocks.1.attn1.to_q", "base", 7, 10,
                          &err) == 0);
    CHECK(warm_lora_check(l, "transformer_blocks.1.attn1.to_q", "base.st", 8,
                          10, &err) == WARM_EFORMAT);
    CHECK_HAS(err.msg, p);
    CHECK_HAS(err.msg, "base.st");
    CHECK_HAS(err.msg, "'transformer_blocks.1.attn1.to_q'");
    CHECK_HAS(err.msg, "[7, 10]");
    CHECK_HAS(err.msg, "[8, 10]");
  }
  warm_lora_close(l);
  fixture_free(&fx);
}

static void test_unpaired_or_misshapen_is_refused(void) {
  fixture fx;
  fixture_make(&fx, 2, 4, 5);
  char p[300];
  path_of(p, sizeof p, "bad.safetensors");
  warm_lora *l = NULL;
  warm_error err = {0};
  CHECK(write_lora(p, &fx, 1, 0) == 0);
  CHECK(warm_lora_open(p, &l, &err) == WARM_EFORMAT);
  CHECK(l == NULL);
  CHECK_HAS(err.msg, p);
  CHECK_HAS(err.msg, "transformer_blocks.1.attn1.to_q.lora_A.weight' has no "
                     "matching");
  fixture_free(&fx);
  /* B's rank disagrees with A's. */
  fixture_make(&fx, 2, 4, 5);
  fixture fx3;
  fixture_make(&fx3, 3, 4, 5);
  free(fx.bh);
  fx.bh = to_bf16(fx3.b, 15);
  CHECK(write_lora(p, &fx, 0, 3) == 0);
  CHECK(warm_lora_open(p, &l, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, "shapes must be A [r, in] and B [out, r]");
  CHECK_HAS(err.msg, "[5, 3]");
  fixture_free(&fx);
  fixture_free(&fx3);
  /* No pairs at all. */
  float one = 1;
  warm_tensor t = {
      .name = "x", .dtype = WARM_F32, .ndim = 1, .shape = {1}, .data = &one};
  CHECK(warm_st_write_file(p, &t, 1, NULL, 0, &err) == 0);
  CHECK(warm_lora_open(p, &l, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, "no lora_A / lora_B pairs");
}

/* Reference: w + s * (B . A) accumulated in double. */
static double naive(const fixture *fx, float s, float w, int64_t o, int64_t i) {
  double acc = 0;
  for (int64_t k = 0; k < fx->r; k++)
    acc += (double)fx->b[o * fx->r + k] * (double)fx->a[k * fx->in + i];
  return (double)w + (double)s * acc;
}

static void test_fuse_f32_and_bf16_match_naive(void) {
  /* Sizes cross the 64-row block edge. */
  fixture fx;
  fixture_make(&fx, 5, 37, 131);
  char p[300];
  path_of(p, sizeof p, "fuse.safetensors");
  CHECK(write_lora(p, &fx, 0, 0) == 0);
  warm_lora *l = NULL;
  warm_error err = {0};
  CHECK(warm_lora_open(p, &l, &err) == 0);
  if (!l) goto out;
  const warm_lora_pair *q =
      warm_lora_find(l, "transformer_blocks.1.attn1.to_q");
  size_t n = (size_t)(fx.out * fx.in);
  float s = 0.6f;
  float *w = rand_f32(n, 1.0f), *w0 = malloc(n * sizeof *w0);
  memcpy(w0, w, n * sizeof *w);
  CHECK(warm_lora_fuse(l, q, s, w, WARM_F32, fx.out, fx.in, &err) == 0);
  double maxd = 0, maxr = 0;
  for (int64_t o = 0; o < fx.out; o++)
    for (int64_t i = 0; i < fx.in; i++) {
      double ref = naive(&fx, s, w0[o * fx.in + i], o, i);
      maxd = fmax(maxd, fabs(ref - w[o * fx.in + i]));
      maxr = fmax(maxr, fabs(ref));
    }
  printf("  f32 fuse: max |d| %.3g of max %.3g\n", maxd, maxr);
  CHECK(maxd <= 1e-6 * maxr);
  /* bf16: one rounding of the exact sum; allow one ulp where the f32
   * product rounds the other way. */
  uint16_t *h = to_bf16(w0, n), *h0 = malloc(n * 2);
  memcpy(h0, h, n * 2);
  CHECK(warm_lora_fuse(l, q, s, h, WARM_BF16, fx.out, fx.in, &err) == 0);
  size_t exact = 0, off1 = 0, bad = 0;
  for (int64_t o = 0; o < fx.out; o++)
    for (int64_t i = 0; i < fx.in; i++) {
      size_t k = (size_t)(o * fx.in + i);
      uint16_t ref =
          wk_f32_to_bf16((float)naive(&fx, s, wk_bf16_to_f32(h0[k]), o, i));
      int d = abs((int)ref - (int)h[k]);
      if (d == 0)
        exact++;
      else if (d == 1)
        off1++;
      else
        bad++;
    }
  printf("  bf16 fuse: %zu exact, %zu one ulp off, %zu worse\n", exact, off1,
         bad);
  CHECK(bad == 0);
  CHECK(off1 * 100 < n);
  /* Strength 0 leaves the weight; wrong shapes and dtypes are refused. */
  memcpy(w, w0, n * sizeof *w);
  CHECK(warm_lora_fuse(l, q, 0.0f, w, WARM_F32, fx.out, fx.in, &err) == 0);
  CHECK(memcmp(w, w0, n * sizeof *w) == 0);
  CHECK(warm_lora_fuse(l, q, s, w, WARM_F32, fx.in, fx.out, &err) ==
        WARM_EFORMAT);
  CHECK_HAS(err.msg, "transformer_blocks.1.attn1.to_q");
  CHECK(warm_lora_fuse(l, q, s, w, WARM_FP8_E4M3, fx.out, fx.in, &err) ==
        WARM_EINVAL);
  free(w);
  free(w0);
  free(h);
  free(h0);
out:
  warm_lora_close(l);
  fixture_free(&fx);
}

static void test_check_base_names_both_files(void) {
  fixture fx;
  fixture_make(&fx, 2, 6, 4);
  char p[300], b[300];
  path_of(p, sizeof p, "l.safetensors");
  path_of(b, sizeof b, "base.safetensors");
  CHECK(write_lora(p, &fx, 0, 0) == 0);
  float *w = rand_f32(4 * 6, 1.0f);
  warm_tensor base[2] = {
      {.name = "model.diffusion_model.transformer_blocks.1.attn1.to_q.weight",
       .dtype = WARM_F32,
       .ndim = 2,
       .shape = {4, 6},
       .data = w},
      {.name = "model.diffusion_model.transformer_blocks.0.ff.net.2.weight",
       .dtype = WARM_F32,
       .ndim = 2,
       .shape = {4, 6},
       .data = w},
  };
  warm_error err = {0};
  CHECK(warm_st_write_file(b, base, 2, NULL, 0, &err) == 0);
  warm_lora *l = NULL;
  warm_st *st = NULL;
  CHECK(warm_lora_open(p, &l, &err) == 0);
  CHECK(warm_st_open(b, &st, &err) == 0);
  if (l && st) {
    CHECK(warm_lora_check_base(l, st, "model.diffusion_model.", &err) == 0);
    CHECK(warm_lora_check_base(l, st, "", &err) == WARM_EFORMAT);
    CHECK_HAS(err.msg, "has no tensor 'transformer_blocks.0.ff.net.2.weight'");
    CHECK_HAS(err.msg, b);
    CHECK_HAS(err.msg, p);
  }
  warm_st_close(st);
  /* The same base with one weight transposed. */
  base[1].shape[0] = 6;
  base[1].shape[1] = 4;
  CHECK(warm_st_write_file(b, base, 2, NULL, 0, &err) == 0);
  CHECK(warm_st_open(b, &st, &err) == 0);
  if (l && st) {
    CHECK(warm_lora_check_base(l, st, "model.diffusion_model.", &err) ==
          WARM_EFORMAT);
    CHECK_HAS(err.msg, p);
    CHECK_HAS(err.msg, b);
    CHECK_HAS(err.msg, "'transformer_blocks.0.ff.net.2'");
    CHECK_HAS(err.msg, "[6, 4]");
  }
  warm_st_close(st);
  warm_lora_close(l);
  free(w);
  fixture_free(&fx);
}

int main(void) {
  seed = (unsigned)time(NULL) ^ (unsigned)getpid();
  srand(seed);
  printf("seed %u\n", seed);
  snprintf(tmpdir, sizeof tmpdir, "/tmp/warm_lora_XXXXXX");
  if (!mkdtemp(tmpdir)) return 1;
  RUN(test_pairs_are_found_and_prefix_stripped);
  RUN(test_unpaired_or_misshapen_is_refused);
  RUN(test_fuse_f32_and_bf16_match_naive);
  RUN(test_check_base_names_both_files);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
  return check_result();
}
