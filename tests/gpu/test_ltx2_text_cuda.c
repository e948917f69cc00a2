/*
 * test_ltx2_text_cuda.c — text_encoder_ltx2 on CUDA (label gpu; skips with
 * 77 where there is no device): f32 contexts against the cpu plugin on the
 * same checkpoints (within 3e-2 relative: CUDA matmuls use reduced-precision
 * operands), resident vs stream W = 1 / 2 pinned and mmap the same bytes,
 * and the ledger peak within the estimate.
 */
#define G3T_HOST_ONLY
#include "test_gemma3_util.h"
#include "lt2_plugin.h"

static char gemma[600], ltx[600];

static int run(warm_device dev, warm_place_req req, float **v, size_t *nv,
               uint64_t *peak, uint64_t *est_total) {
  warm_kv keys[2] = {{"ltx_checkpoint", ltx}, {"max_tokens", "128"}};
  warm_component_config cc = g3t_config(gemma, dev, WARM_F32, keys, 2);
  g3t_host h;
  g3t_host_init(&h, dev, 0);
  const warm_plugin_desc *d = lt2_descriptor();
  warm_instance *g = NULL;
  warm_error err = {0};
  int rc = d->create(&h.svc, &cc, &g, &err);
  warm_estimate est;
  warm_job_shape shape = {0};
  if (!rc) rc = d->estimate(g, &req, &shape, &est, &err);
  if (!rc) {
    warm_ledger_mark_reset(h.ledger);
    rc = d->place(g, &req, &err);
  }
  warm_run_args a;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.prompt = "A red fox runs across the snow at dawn.";
  if (!rc) rc = d->run(g, &a, &err);
  G3T_CHECK(rc == 0, "%s: %s", dev.type == WARM_DEVICE_CUDA ? "cuda" : "cpu",
            err.msg);
  if (!rc) {
    *nv = warm_tensor_bytes(&a.outputs[0]);
    *v = malloc(*nv);
    memcpy(*v, a.outputs[0].data, *nv);
    *peak = g3t_peak(&h);
    *est_total = est.persistent + est.window + est.workspace;
    for (uint32_t i = 0; i < a.n_outputs; i++)
      warm_tensor_free(&a.outputs[i]);
  }
  if (g) d->destroy(g);
  g3t_host_fini(&h);
  return rc;
}

int main(void) {
  if (wk_cuda_device_count() == 0) {
    printf("SKIP: no CUDA device\n");
    return 77;
  }
  const char *root = getenv("LT2_CKPT_DIR");
  snprintf(gemma, sizeof gemma, "%s/gemma",
           root ? root : WARM_BUILD_DIR "/ltx2-text-ckpt");
  snprintf(ltx, sizeof ltx, "%s/ltx2_v23.safetensors",
           root ? root : WARM_BUILD_DIR "/ltx2-text-ckpt");
  warm_device cpu = {WARM_DEVICE_CPU, 0}, cu = {WARM_DEVICE_CUDA, 0};
  warm_place_req reqs[5] = {{WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED},
                            {WARM_PLACE_STREAM, 1, WARM_SOURCE_PINNED},
                            {WARM_PLACE_STREAM, 2, WARM_SOURCE_PINNED},
                            {WARM_PLACE_STREAM, 1, WARM_SOURCE_MMAP},
                            {WARM_PLACE_STREAM, 2, WARM_SOURCE_MMAP}};
  float *ref = NULL, *c0 = NULL;
  size_t n = 0, n0 = 0;
  uint64_t peak, tot;
  if (run(cpu, reqs[0], &ref, &n, &peak, &tot)) return 1;
  for (int i = 0; i < 5; i++) {
    float *v = NULL;
    size_t nv = 0;
    if (run(cu, reqs[i], &v, &nv, &peak, &tot)) continue;
    G3T_CHECK(peak <= tot, "cuda %d: peak %llu <= estimate %llu", i,
              (unsigned long long)peak, (unsigned long long)tot);
    if (i == 0) {
      double num = 0, den = 0;
      for (size_t k = 0; k < n / 4; k++) {
        num += (double)(v[k] - ref[k]) * (v[k] - ref[k]);
        den += (double)ref[k] * ref[k];
      }
      double rel = sqrt(num / (den > 0 ? den : 1));
      printf("cuda vs cpu: relative L2 %.3g\n", rel);
      G3T_CHECK(nv == n && rel <= 3e-2, "cuda vs cpu %.3g", rel);
      c0 = v, n0 = nv;
      continue;
    }
    G3T_CHECK(nv == n0 && !memcmp(v, c0, nv), "cuda placement %d: same bytes",
              i);
    free(v);
  }
  free(ref);
  free(c0);
  if (g3t_failures) return 1;
  printf("test_ltx2_text_cuda: all checks passed\n");
  return 0;
}
