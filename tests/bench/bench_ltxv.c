/*
 * bench_ltxv — cpu seconds per DiT step and per VAE decode on small
 * configs, made here with warm-mkmodel:
 *   DiT: --arch ltxv --preset small (4 layers, width 128, 32 channels),
 *        latents [1, 32, 3, 8, 12] (288 tokens), 32 text tokens;
 *   VAE: --arch ltxv-vae --preset small (latent 32, patch 4, two
 *        spatio-temporal upsamplers), latents [32, 3, 8, 12] -> 9 frames
 *        of 128 x 192.
 * Baselines in the same run: the resident f32 step is the reference for
 * streamed (W=2, pinned) and bf16 steps; the untiled decode is the
 * reference for the tiled one. Median of 5 after one warm-up.
 * Label bench (tests/bench/run.sh), not in ctest's default run.
 */
#include <unistd.h>

#include "test_ltxv_host.h"

#define MKMODEL WARM_BUILD_DIR "/bin/warm-mkmodel"
#define REPS 5

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median seconds of REPS runs (after one warm-up) of `inst` in `req`. */
static double time_runs(lt_host *h, warm_instance *inst,
                        const warm_place_req *req, const warm_tensor *in,
                        uint32_t n) {
  warm_error err = {0};
  if (h->desc->place(inst, req, &err)) {
    fprintf(stderr, "place: %s\n", err.msg);
    return -1;
  }
  double t[REPS];
  for (int r = -1; r < REPS; r++) {
    warm_run_args a;
    memset(&a, 0, sizeof a);
    a.struct_size = sizeof a;
    a.n_inputs = n;
    a.inputs = in;
    double t0 = lt_now();
    if (h->desc->run(inst, &a, &err)) {
      fprintf(stderr, "run: %s\n", err.msg);
      return -1;
    }
    if (r >= 0) t[r] = lt_now() - t0;
    warm_tensor_free(&a.outputs[0]);
  }
  qsort(t, REPS, sizeof *t, cmp);
  return t[REPS / 2];
}

static warm_instance *create(lt_host *h, const char *ckpt, warm_dtype dt) {
  warm_error err = {0};
  warm_component_config cfg = lt_config(h, ckpt, dt);
  warm_instance *inst = NULL;
  if (h->desc->create(&h->svc, &cfg, &inst, &err)) {
    fprintf(stderr, "create: %s\n", err.msg);
    return NULL;
  }
  return inst;
}

static int bench_dit(const char *ckpt, uint64_t *seed) {
  lt_host h;
  if (lt_host_init(&h, "transformer_ltxv", 8ull << 30)) return -1;
  int64_t ls[5] = {1, 32, 3, 8, 12}, ts[1] = {1}, es[3] = {1, 32, 256},
          ms[2] = {1, 32};
  warm_tensor in[4];
  warm_tensor_alloc(&in[0], "latents", WARM_F32, 5, ls);
  warm_tensor_alloc(&in[1], "timestep", WARM_F32, 1, ts);
  warm_tensor_alloc(&in[2], "embeddings", WARM_F32, 3, es);
  warm_tensor_alloc(&in[3], "mask", WARM_I32, 2, ms);
  for (int64_t i = 0; i < warm_tensor_numel(&in[0]); i++)
    ((float *)in[0].data)[i] = lt_randn(seed);
  for (int64_t i = 0; i < warm_tensor_numel(&in[2]); i++)
    ((float *)in[2].data)[i] = lt_randn(seed);
  ((float *)in[1].data)[0] = 700.0f;
  for (int i = 0; i < 32; i++)
    ((int32_t *)in[3].data)[i] = i < 24;
  warm_place_req res = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  warm_place_req str = {WARM_PLACE_STREAM, 2, WARM_SOURCE_PINNED};
  double t_res = -1, t_str = -1, t_bf = -1;
  warm_instance *f = create(&h, ckpt, WARM_F32);
  if (f) {
    t_res = time_runs(&h, f, &res, in, 4);
    t_str = time_runs(&h, f, &str, in, 4);
    h.desc->destroy(f);
  }
  warm_instance *b = create(&h, ckpt, WARM_BF16);
  if (b) {
    t_bf = time_runs(&h, b, &res, in, 4);
    h.desc->destroy(b);
  }
  for (int i = 0; i < 4; i++)
    warm_tensor_free(&in[i]);
  lt_host_fini(&h);
  if (t_res <= 0 || t_str <= 0 || t_bf <= 0) return -1;
  printf("DiT step (small, 288 tokens, 4 layers, cpu):\n");
  printf("  resident f32          %8.4f s\n", t_res);
  printf("  stream W=2 pinned f32 %8.4f s  (%.2fx resident)\n", t_str,
         t_str / t_res);
  printf("  resident bf16 weights %8.4f s  (%.2fx resident f32)\n", t_bf,
         t_bf / t_res);
  printf("RESULT ltxv_dit_step_cpu %.4f s\n", t_res);
  printf("RESULT ltxv_dit_stream_over_resident %.3f x\n", t_str / t_res);
  return 0;
}

static int bench_vae(const char *ckpt, uint64_t *seed) {
  double t_full = -1, t_tiled = -1;
  int64_t ls[4] = {32, 3, 8, 12};
  warm_tensor in;
  warm_tensor_alloc(&in, "latents", WARM_F32, 4, ls);
  for (int64_t i = 0; i < warm_tensor_numel(&in); i++)
    ((float *)in.data)[i] = lt_randn(seed);
  warm_place_req res = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  for (int tiled = 0; tiled < 2; tiled++) {
    lt_host h;
    if (lt_host_init(&h, "vae_ltxv", 8ull << 30)) break;
    if (tiled) { /* 4 x 6 latent tiles every 3 x 3 (64-pixel tiles) */
      lt_key(&h, "tile_size", "64");
      lt_key(&h, "tile_stride", "48");
    } else {
      lt_key(&h, "tiling", "false");
    }
    warm_instance *v = create(&h, ckpt, WARM_F32);
    if (v) {
      double t = time_runs(&h, v, &res, &in, 1);
      if (tiled)
        t_tiled = t;
      else
        t_full = t;
      h.desc->destroy(v);
    }
    lt_host_fini(&h);
  }
  warm_tensor_free(&in);
  if (t_full <= 0 || t_tiled <= 0) return -1;
  printf("VAE decode (small, latents 32x3x8x12 -> 9 x 128 x 192, cpu):\n");
  printf("  untiled               %8.4f s\n", t_full);
  printf("  tiled 64/48 px        %8.4f s  (%.2fx untiled)\n", t_tiled,
         t_tiled / t_full);
  printf("RESULT ltxv_vae_decode_cpu %.4f s\n", t_full);
  return 0;
}

int main(void) {
  char dir[256];
  snprintf(dir, sizeof dir, "%s/bench-ltxv-XXXXXX", WARM_BUILD_DIR);
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "'%s' --arch ltxv --preset small --seed 7 --out '%s/dit' --quiet "
           "&& '%s' --arch ltxv-vae --preset small --seed 8 --out '%s/vae' "
           "--quiet",
           MKMODEL, dir, MKMODEL, dir);
  int rc = system(cmd) == 0 ? 0 : -1;
  if (rc) fprintf(stderr, "warm-mkmodel failed\n");
  uint64_t seed = lt_seed();
  printf("seed %llu\n", (unsigned long long)seed);
  char p[512];
  snprintf(p, sizeof p, "%s/dit", dir);
  if (!rc) rc = bench_dit(p, &seed);
  snprintf(p, sizeof p, "%s/vae", dir);
  if (!rc) rc = bench_vae(p, &seed);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return rc ? 1 : 0;
}
