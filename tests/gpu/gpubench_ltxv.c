/*
 * gpubench_ltxv — one resident DiT step on CUDA at LTX-Video 2B width
 * (warm-mkmodel --arch ltxv --preset full --dtype bf16: 32 heads x 64,
 * caption 4096; LTXV_GPUBENCH_LAYERS layers, default 8 of the 28, to keep
 * the checkpoint quick to write) on a 121-frame 512 x 768 job (latents
 * [1, 128, 16, 16, 24] = 6144 tokens, 128 text tokens), against PyTorch +
 * diffusers running LTXVideoTransformer3DModel on the same weights (bf16,
 * SDPA) in the same run. Prints both medians of 5 steps after a warm-up
 * and the ratio. When python3 cannot import torch+diffusers with CUDA, the
 * warmd number is printed alone with the reason. Exit 77 without a GPU.
 * Labels bench;gpu (tests/gpu/check.sh runs it).
 */
#include <unistd.h>

#include "test_ltxv_host.h"

#define MKMODEL WARM_BUILD_DIR "/bin/warm-mkmodel"
#define REPS 5

static const char *torch_script =
    "import sys, time\n"
    "try:\n"
    "    import torch\n"
    "    from diffusers import LTXVideoTransformer3DModel\n"
    "    assert torch.cuda.is_available(), 'torch sees no CUDA device'\n"
    "except Exception as e:\n"
    "    print('TORCH_UNAVAILABLE', repr(e)); sys.exit(0)\n"
    "ck, reps = sys.argv[1], int(sys.argv[2])\n"
    "m = LTXVideoTransformer3DModel.from_pretrained(ck, "
    "torch_dtype=torch.bfloat16).cuda().eval()\n"
    "g = torch.Generator(device='cuda').manual_seed(0)\n"
    "x = torch.randn(1, 16 * 16 * 24, 128, device='cuda', generator=g, "
    "dtype=torch.bfloat16)\n"
    "e = torch.randn(1, 128, 4096, device='cuda', generator=g, "
    "dtype=torch.bfloat16)\n"
    "mask = torch.ones(1, 128, device='cuda', dtype=torch.int32)\n"
    "t = torch.tensor([700.0], device='cuda')\n"
    "def step():\n"
    "    with torch.no_grad():\n"
    "        m(hidden_states=x, encoder_hidden_states=e, timestep=t,\n"
    "          encoder_attention_mask=mask, num_frames=16, height=16,\n"
    "          width=24, rope_interpolation_scale=(8 / 25, 32, 32),\n"
    "          return_dict=False)\n"
    "step(); torch.cuda.synchronize()\n"
    "ts = []\n"
    "for _ in range(reps):\n"
    "    t0 = time.perf_counter(); step(); torch.cuda.synchronize()\n"
    "    ts.append(time.perf_counter() - t0)\n"
    "ts.sort(); print('TORCH_STEP_S', ts[len(ts) // 2])\n";

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median warmd step in seconds, or < 0. */
static double warmd_step(const char *ckpt, uint64_t *seed) {
  lt_host h;
  if (lt_host_init_on(&h, "transformer_ltxv", 60ull << 30, WK_BACKEND_CUDA))
    return -1;
  int64_t ls[5] = {1, 128, 16, 16, 24}, ts[1] = {1}, es[3] = {1, 128, 4096},
          ms[2] = {1, 128};
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
  for (int i = 0; i < 128; i++)
    ((int32_t *)in[3].data)[i] = 1;
  warm_component_config cfg = lt_config(&h, ckpt, WARM_BF16);
  cfg.device.type = WARM_DEVICE_CUDA;
  warm_instance *inst = NULL;
  warm_error err = {0};
  double t[REPS], med = -1;
  warm_place_req req = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  if (h.desc->create(&h.svc, &cfg, &inst, &err) ||
      h.desc->place(inst, &req, &err)) {
    fprintf(stderr, "warmd: %s\n", err.msg);
    goto out;
  }
  for (int r = -1; r < REPS; r++) {
    warm_run_args a;
    memset(&a, 0, sizeof a);
    a.struct_size = sizeof a;
    a.n_inputs = 4;
    a.inputs = in;
    double t0 = lt_now();
    if (h.desc->run(inst, &a, &err)) {
      fprintf(stderr, "warmd run: %s\n", err.msg);
      goto out;
    }
    if (r >= 0) t[r] = lt_now() - t0;
    warm_tensor_free(&a.outputs[0]);
  }
  qsort(t, REPS, sizeof *t, cmp);
  med = t[REPS / 2];
  printf("peak device bytes %.2f GiB\n", (double)lt_peak(&h) / (1 << 30));
out:
  if (inst) h.desc->destroy(inst);
  for (int i = 0; i < 4; i++)
    warm_tensor_free(&in[i]);
  lt_host_fini(&h);
  return med;
}

/* Runs the PyTorch reference; returns its median or < 0 with `why`. */
static double torch_step(const char *dir, const char *ckpt, char *why,
                         size_t n) {
  char py[600], cmd[1400], line[512];
  snprintf(py, sizeof py, "%s/ref.py", dir);
  FILE *f = fopen(py, "w");
  if (!f) {
    snprintf(why, n, "cannot write %s", py);
    return -1;
  }
  fputs(torch_script, f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "python3 '%s' '%s' %d 2>&1", py, ckpt, REPS);
  FILE *p = popen(cmd, "r");
  if (!p) {
    snprintf(why, n, "cannot run python3");
    return -1;
  }
  double s = -1;
  snprintf(why, n, "python3 printed no timing");
  while (fgets(line, sizeof line, p)) {
    if (!strncmp(line, "TORCH_STEP_S ", 13)) s = atof(line + 13);
    if (!strncmp(line, "TORCH_UNAVAILABLE ", 18)) {
      line[strcspn(line, "\n")] = 0;
      snprintf(why, n, "PyTorch/diffusers not usable: %s", line + 18);
    }
  }
  if (pclose(p) != 0 && s < 0) snprintf(why, n, "python3 failed");
  return s;
}

int main(void) {
  if (!wk_backend_available(WK_BACKEND_CUDA)) {
    printf("SKIP: no CUDA device\n");
    return 77;
  }
  const char *ls = getenv("LTXV_GPUBENCH_LAYERS");
  int layers = ls ? atoi(ls) : 8;
  if (layers < 1 || layers > 28) layers = 8;
  char dir[256];
  snprintf(dir, sizeof dir, "%s/gpubench-ltxv-XXXXXX", WARM_BUILD_DIR);
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  char ckpt[512], cmd[1200];
  snprintf(ckpt, sizeof ckpt, "%s/dit", dir);
  snprintf(cmd, sizeof cmd,
           "'%s' --arch ltxv --preset full --dtype bf16 --set num_layers=%d "
           "--seed 11 --out '%s' --quiet",
           MKMODEL, layers, ckpt);
  double t0 = lt_now();
  int rc = system(cmd) == 0 ? 0 : 1;
  printf("checkpoint: LTX-Video 2B width, %d layers, bf16 (%.1f s to "
         "write)\n",
         layers, lt_now() - t0);
  uint64_t seed = lt_seed();
  double w = rc ? -1 : warmd_step(ckpt, &seed);
  char why[700] = "";
  double tr = rc ? -1 : torch_step(dir, ckpt, why, sizeof why);
  if (w > 0) {
    printf("warmd resident DiT step (6144 tokens, bf16): %.4f s\n", w);
    printf("RESULT ltxv_dit_step_cuda %.4f s\n", w);
  }
  if (tr > 0) {
    printf("PyTorch+diffusers same weights:              %.4f s\n", tr);
    printf("warmd / PyTorch: %.2fx\n", w / tr);
    printf("RESULT ltxv_dit_step_torch %.4f s\n", tr);
    printf("RESULT ltxv_dit_warmd_over_torch %.3f x\n", w / tr);
  } else if (w > 0) {
    printf("no PyTorch comparison: %s\n", why);
  }
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return w > 0 ? 0 : 1;
}
