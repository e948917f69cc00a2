/*
 * Parity of transformer_ltxv.so and vae_ltxv.so with diffusers: each golden
 * file in tests/data/ltxv (written by tests/parity/ltxv.py from diffusers
 * itself) holds the inputs and the reference output for a checkpoint that
 * ctest regenerates with warm-mkmodel (same preset, same seed -> same
 * bytes). The plugins run f32 on the cpu; the test also checks that the
 * ledger's peak stays within the plugin's own estimate and nothing leaks.
 *
 *   test_ltxv_parity CASE...   (e.g. dit_tiny vae_tiny_tiled)
 */
#include "test_ltxv_host.h"

#define DIT_TOL 1e-5
/* The VAE's tolerance: see docs/ltxv.md ("Parity"). */
#define VAE_TOL 1e-5

static const char *ckpt_root(void) {
  const char *e = getenv("LTXV_CKPT");
  return e ? e : LT_CKPT;
}

static int get(const warm_st *g, const char *name, warm_tensor *t) {
  warm_error err = {0};
  if (warm_st_get(g, name, t, &err)) {
    fprintf(stderr, "golden: %s\n", err.msg);
    return -1;
  }
  return 0;
}

static const char *meta(const warm_st *g, const char *k, const char *def) {
  const char *v = warm_st_metadata(g, k);
  return v ? v : def;
}

/* Creates, places (resident, f32, cpu), runs once; compares `out_name`
 * with the golden `ref` and the ledger peak with the estimate. */
static void run_case(lt_host *h, const char *ckpt, const warm_job_shape *js,
                     const warm_tensor *in, uint32_t n_in, const char *out_name,
                     const warm_tensor *ref, double tol, int clamp_ref,
                     const char *label) {
  warm_error err = {0};
  warm_component_config cfg = lt_config(h, ckpt, WARM_F32);
  warm_instance *inst = NULL;
  if (h->desc->create(&h->svc, &cfg, &inst, &err)) {
    LT_CHECK(0, "%s: create: %s", label, err.msg);
    return;
  }
  warm_place_req req = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  warm_estimate est;
  LT_CHECK(h->desc->estimate(inst, &req, js, &est, &err) == 0, "%s: %s", label,
           err.msg);
  warm_ledger_mark_reset(h->ledger);
  LT_CHECK(h->desc->place(inst, &req, &err) == 0, "%s: place: %s", label,
           err.msg);
  warm_run_args a;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.n_inputs = n_in;
  a.inputs = in;
  int rc = h->desc->run(inst, &a, &err);
  LT_CHECK(rc == 0, "%s: run: %s", label, err.msg);
  if (rc == 0) {
    const warm_tensor *o = &a.outputs[0];
    LT_CHECK(a.n_outputs == 1 && o->name && !strcmp(o->name, out_name),
             "%s: output %s", label, o->name ? o->name : "(null)");
    LT_CHECK(o->ndim == ref->ndim &&
                 !memcmp(o->shape, ref->shape, sizeof(int64_t) * ref->ndim),
             "%s: output shape differs from the golden", label);
    size_t n = (size_t)warm_tensor_numel(ref);
    if (o->ndim == ref->ndim && (size_t)warm_tensor_numel(o) == n) {
      float *r = malloc(n * sizeof *r);
      memcpy(r, ref->data, n * sizeof *r);
      double mref = 0, e = lt_rel_err(o->data, r, n, &mref);
      if (clamp_ref) {
        /* Clamped output against the clamped reference, still relative to
         * the decoder's own output range (max |raw reference|). */
        for (size_t i = 0; i < n; i++)
          r[i] = r[i] < -1 ? -1 : r[i] > 1 ? 1 : r[i];
        double one = 0;
        e = lt_rel_err(o->data, r, n, &one) * one / mref;
      }
      printf("%-22s max|ref| %.4g  rel err %.3g (tol %.0e)\n", label, mref, e,
             tol);
      LT_CHECK(e <= tol, "%s: relative error %.3g > %.0e", label, e, tol);
      free(r);
    }
    uint64_t bound = est.persistent + est.window + est.workspace;
    LT_CHECK(lt_peak(h) <= bound,
             "%s: ledger peak %llu exceeds the estimate %llu", label,
             (unsigned long long)lt_peak(h), (unsigned long long)bound);
    warm_tensor_free(&a.outputs[0]);
  }
  h->desc->destroy(inst);
}

static void dit(const char *name, const warm_st *g) {
  lt_host h;
  if (lt_host_init(&h, "transformer_ltxv", 1ull << 32)) {
    lt_failures++;
    return;
  }
  lt_key(&h, "fps", meta(g, "fps", "25.0"));
  lt_key(&h, "temporal_compression", meta(g, "temporal_compression", "8"));
  lt_key(&h, "spatial_compression", meta(g, "spatial_compression", "32"));
  warm_tensor in[4], ref;
  const char *names[4] = {"latents", "timestep", "embeddings", "mask"};
  for (int i = 0; i < 4; i++)
    if (get(g, names[i], &in[i])) lt_failures++;
  if (get(g, "velocity", &ref) || lt_failures) {
    lt_failures++;
    lt_host_fini(&h);
    return;
  }
  char ckpt[1024];
  snprintf(ckpt, sizeof ckpt, "%s/%s", ckpt_root(), name);
  warm_job_shape js = {
      (uint32_t)in[2].shape[1],
      (uint32_t)((in[0].shape[2] - 1) *
                     atoi(meta(g, "temporal_compression", "8")) +
                 1),
      (uint32_t)(in[0].shape[3] * atoi(meta(g, "spatial_compression", "32"))),
      (uint32_t)(in[0].shape[4] * atoi(meta(g, "spatial_compression", "32"))),
      (uint32_t)in[0].shape[0]};
  run_case(&h, ckpt, &js, in, 4, "velocity", &ref, DIT_TOL, 0, name);
  lt_host_fini(&h);
}

static void vae(const char *name, const warm_st *g) {
  warm_tensor in[2], ref;
  uint32_t n_in = 1;
  if (get(g, "latents", &in[0]) || get(g, "frames", &ref)) {
    lt_failures++;
    return;
  }
  if (warm_st_find(g, "timestep")) {
    get(g, "timestep", &in[1]);
    n_in = 2;
  }
  char ckpt[1024];
  snprintf(ckpt, sizeof ckpt, "%s/%s", ckpt_root(), name);
  /* Raw decoder output, then the default clamp to [-1, 1]. */
  for (int clamp = 0; clamp < 2; clamp++) {
    lt_host h;
    if (lt_host_init(&h, "vae_ltxv", 1ull << 32)) {
      lt_failures++;
      return;
    }
    if (!clamp) lt_key(&h, "clamp", "false");
    if (warm_st_metadata(g, "tile_size")) {
      lt_key(&h, "tile_size", meta(g, "tile_size", ""));
      lt_key(&h, "tile_stride", meta(g, "tile_stride", ""));
    }
    warm_job_shape js = {0, (uint32_t)in[0].shape[1], 0, 0, 1};
    char label[96];
    snprintf(label, sizeof label, "%s%s", name, clamp ? "+clamp" : "");
    /* Pixel sizes only size the estimate; use the largest the latent
     * could mean (spatial compression at most 64). */
    js.frames = (uint32_t)((in[0].shape[1] - 1) * 8 + 1);
    js.height = (uint32_t)(in[0].shape[2] * 64);
    js.width = (uint32_t)(in[0].shape[3] * 64);
    run_case(&h, ckpt, &js, in, n_in, "frames", &ref, VAE_TOL, clamp, label);
    lt_host_fini(&h);
  }
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/ltxv/%s.safetensors", WARM_TEST_DATA,
             argv[i]);
    warm_st *g = NULL;
    warm_error err = {0};
    if (warm_st_open(path, &g, &err)) {
      fprintf(stderr, "FAIL: %s\n", err.msg);
      lt_failures++;
      continue;
    }
    if (!strcmp(meta(g, "arch", ""), "ltxv"))
      dit(argv[i], g);
    else
      vae(argv[i], g);
    warm_st_close(g);
  }
  if (lt_failures) fprintf(stderr, "%d failure(s)\n", lt_failures);
  return lt_failures ? 1 : 0;
}
