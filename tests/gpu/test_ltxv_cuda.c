/*
 * test_ltxv_cuda — transformer_ltxv and vae_ltxv on a CUDA device against
 * the same plugin on the cpu, same checkpoint, same inputs (the parity
 * goldens' inputs in tests/data/ltxv), resident, for f32 and bf16 weight
 * storage. Also: the ledger peak on the device stays within the estimate.
 * Exits 77 without a CUDA device (label gpu; tests/gpu/check.sh runs it).
 * With WARM_TEST_CUDA_AS_CPU=1 the "cuda" side runs on the cpu backend:
 * that checks the harness (inputs, shapes, estimates) in every build.
 *
 * Tolerance: max |cuda - cpu| / max |cpu| <= 3e-2. The CUDA kernels feed
 * the tensor cores bf16 operands with f32 accumulation; bf16 keeps 8
 * significant bits, so each rounded operand is off by at most 2^-9 = 0.2 %
 * relative. A dot product of random-sign terms inherits about that relative
 * error, and the tiny checkpoints chain some 10 to 20 such ops (DiT: 2
 * blocks of attention + feed-forward with modulation; VAE: the conv stack),
 * which compounds to at most ~1-2 % when the errors add up instead of
 * averaging out. 3e-2 leaves room above that; a real kernel bug (a sign, a
 * transposed operand, a missing term) moves the output by O(1) of its
 * range. The cpu run itself matches the diffusers goldens to 1e-5 (see
 * test_ltxv_parity), so this also bounds the CUDA run against diffusers.
 */
#include "test_ltxv_host.h"

#define TOL 3e-2

static wk_backend dev_be = WK_BACKEND_CUDA;

static const char *meta(const warm_st *g, const char *k, const char *def) {
  const char *v = warm_st_metadata(g, k);
  return v ? v : def;
}

/* One resident run; returns the output (caller frees) or NULL. */
static float *run_on(wk_backend be, const char *plugin, const char *ckpt,
                     warm_dtype dt, const warm_st *g, const warm_tensor *in,
                     uint32_t n_in, const warm_job_shape *js, size_t *n_out) {
  lt_host h;
  if (lt_host_init_on(&h, plugin, 8ull << 30, be)) {
    lt_failures++;
    return NULL;
  }
  const char *keys[] = {"fps", "temporal_compression", "spatial_compression",
                        "tile_size", "tile_stride"};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    if (warm_st_metadata(g, keys[i])) lt_key(&h, keys[i], meta(g, keys[i], ""));
  if (!strcmp(plugin, "vae_ltxv")) lt_key(&h, "clamp", "false");
  warm_component_config cfg = lt_config(&h, ckpt, dt);
  if (be == WK_BACKEND_CUDA) cfg.device.type = WARM_DEVICE_CUDA;
  const char *where = be == WK_BACKEND_CUDA ? "cuda" : "cpu";
  warm_instance *inst = NULL;
  warm_error err = {0};
  float *out = NULL;
  warm_place_req req = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  warm_estimate est = {0};
  if (h.desc->create(&h.svc, &cfg, &inst, &err) ||
      h.desc->estimate(inst, &req, js, &est, &err) ||
      h.desc->place(inst, &req, &err)) {
    LT_CHECK(0, "%s on %s: %s", plugin, where, err.msg);
    goto done;
  }
  warm_run_args a;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.n_inputs = n_in;
  a.inputs = in;
  if (h.desc->run(inst, &a, &err)) {
    LT_CHECK(0, "%s run: %s", plugin, err.msg);
    goto done;
  }
  *n_out = (size_t)warm_tensor_numel(&a.outputs[0]);
  out = malloc(*n_out * sizeof *out);
  if (out) memcpy(out, a.outputs[0].data, *n_out * sizeof *out);
  for (uint32_t i = 0; i < a.n_outputs; i++)
    warm_tensor_free(&a.outputs[i]);
  uint64_t bound = est.persistent + est.window + est.workspace;
  LT_CHECK(lt_peak(&h) <= bound, "%s: ledger peak %llu above the estimate %llu",
           plugin, (unsigned long long)lt_peak(&h), (unsigned long long)bound);
done:
  if (inst) h.desc->destroy(inst);
  lt_host_fini(&h);
  return out;
}

static void compare(const char *name) {
  char path[1024], ckpt[1024];
  snprintf(path, sizeof path, "%s/ltxv/%s.safetensors", WARM_TEST_DATA, name);
  snprintf(ckpt, sizeof ckpt, "%s/%s", LT_CKPT, name);
  warm_st *g = NULL;
  warm_error err = {0};
  if (warm_st_open(path, &g, &err)) {
    LT_CHECK(0, "%s", err.msg);
    return;
  }
  int dit = !strcmp(meta(g, "arch", ""), "ltxv");
  const char *plugin = dit ? "transformer_ltxv" : "vae_ltxv";
  const char *names[4] = {"latents", "timestep", "embeddings", "mask"};
  warm_tensor in[4];
  uint32_t n_in = 0;
  for (int i = 0; i < 4; i++) {
    if (!dit && i >= 2) break;
    if (!warm_st_find(g, names[i])) continue;
    if (warm_st_get(g, names[i], &in[n_in], &err)) {
      LT_CHECK(0, "%s", err.msg);
      goto out;
    }
    n_in++;
  }
  warm_job_shape js = {0};
  if (dit) {
    int tc = atoi(meta(g, "temporal_compression", "8")),
        sc = atoi(meta(g, "spatial_compression", "32"));
    js = (warm_job_shape){(uint32_t)in[2].shape[1],
                          (uint32_t)((in[0].shape[2] - 1) * tc + 1),
                          (uint32_t)(in[0].shape[3] * sc),
                          (uint32_t)(in[0].shape[4] * sc),
                          (uint32_t)in[0].shape[0]};
  } else {
    js = (warm_job_shape){0, (uint32_t)((in[0].shape[1] - 1) * 8 + 1),
                          (uint32_t)(in[0].shape[2] * 64),
                          (uint32_t)(in[0].shape[3] * 64), 1};
  }
  const warm_dtype dts[2] = {WARM_F32, WARM_BF16};
  for (int d = 0; d < 2; d++) {
    size_t nc = 0, ng = 0;
    float *c = run_on(WK_BACKEND_CPU, plugin, ckpt, dts[d], g, in, n_in, &js, &nc);
    float *x = run_on(dev_be, plugin, ckpt, dts[d], g, in, n_in, &js, &ng);
    if (c && x && nc == ng) {
      double mref = 0, e = lt_rel_err(x, c, nc, &mref);
      printf("%-18s %-4s cuda vs cpu: max|cpu| %.4g  rel err %.3g (tol %.0e)\n",
             name, warm_dtype_name(dts[d]), mref, e, TOL);
      LT_CHECK(e <= TOL, "%s %s: cuda vs cpu relative error %.3g > %.0e", name,
               warm_dtype_name(dts[d]), e, TOL);
    } else {
      LT_CHECK(0, "%s %s: outputs missing or of different sizes (%zu, %zu)",
               name, warm_dtype_name(dts[d]), nc, ng);
    }
    free(c);
    free(x);
  }
out: /* the inputs are views into the golden file */
  warm_st_close(g);
}

int main(int argc, char **argv) {
  const char *as_cpu = getenv("WARM_TEST_CUDA_AS_CPU");
  if (as_cpu && *as_cpu == '1') {
    dev_be = WK_BACKEND_CPU;
    printf("WARM_TEST_CUDA_AS_CPU: the device side runs on the cpu\n");
  } else if (wk_cuda_device_count() == 0) {
    printf("SKIP: no CUDA device (this test compares transformer_ltxv and "
           "vae_ltxv on CUDA with their cpu output; run tests/gpu/check.sh "
           "on a GPU machine)\n");
    return 77;
  }
  for (int i = 1; i < argc; i++)
    compare(argv[i]);
  if (lt_failures) fprintf(stderr, "%d failure(s)\n", lt_failures);
  else printf("ok\n");
  return lt_failures ? 1 : 0;
}
