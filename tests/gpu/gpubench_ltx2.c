/*
 * gpubench_ltx2 — the LTX-2 transformer on CUDA at production block dims:
 * `warm-mkmodel --arch ltx2 --variant 2.0 --preset full --sparse --dtype
 * bf16 --set transformer.num_layers=L` (video 32 heads x 128, audio 32 x
 * 64, 128 latent channels, caption 3840; L = LTX2_GPUBENCH_LAYERS, default
 * 2 of the 48; --sparse: the weights are zeros read from file holes, which
 * costs the GEMMs and attention the same time), resident, at the two
 * pipeline token counts:
 *   stage 1: 121 frames of 512 x 768 -> 16 x 16 x 24 = 6144 video tokens,
 *            126 audio tokens, 4 guidance passes in one call;
 *   stage 2: 121 frames of 1024 x 1536 -> 24576 video tokens, 126 audio
 *            tokens, 1 pass (distilled, no guidance);
 * both with 1024 context tokens. Prints the median of 3 calls after a
 * warm-up, the model FLOPs of a call (every linear and attention product
 * of the blocks, caption projections, patchify and proj_out), TFLOP/s and
 * MFU against LTX2_PEAK_TFLOPS (default 989, dense bf16 of an H100/H200
 * SXM). Exit 77 without a GPU. Labels bench;gpu (tests/gpu/check.sh).
 */
#include <unistd.h>

#include "test_ltx2_inputs.h"
#include "test_ltxv_host.h"
#include "warm/ltx2.h"

#define MKMODEL WARM_BUILD_DIR "/bin/warm-mkmodel"
#define REPS 3

/* The sizes the FLOP count needs, from the file's config. */
typedef struct lt2_dims {
  int64_t heads, dh, aheads, adh, in, ain, caption, layers;
} lt2_dims;

static int read_dims(const char *path, lt2_dims *d) {
  warm_ltx2 *f = NULL;
  const warm_config *c = NULL;
  warm_error err = {0};
  int rc = warm_ltx2_open(path, &f, &err);
  if (!rc) rc = warm_ltx2_config(f, "transformer", &c, &err);
  if (!rc) rc = warm_config_int(c, "num_attention_heads", &d->heads, &err);
  if (!rc) rc = warm_config_int(c, "attention_head_dim", &d->dh, &err);
  if (!rc)
    rc = warm_config_int(c, "audio_num_attention_heads", &d->aheads, &err);
  if (!rc) rc = warm_config_int(c, "audio_attention_head_dim", &d->adh, &err);
  if (!rc) rc = warm_config_int(c, "in_channels", &d->in, &err);
  if (!rc) rc = warm_config_int(c, "audio_in_channels", &d->ain, &err);
  if (!rc) rc = warm_config_int(c, "caption_channels", &d->caption, &err);
  if (!rc) rc = warm_config_int(c, "num_layers", &d->layers, &err);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  warm_ltx2_close(f);
  return rc;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double attn_fl(double Nq, double Nk, double I, double qd, double kd) {
  return 2 * Nq * qd * I + 4 * Nk * kd * I + 2 * Nq * I * qd + 4 * Nq * Nk * I;
}

/* Model FLOPs of one pass through `d` with Nv / Na tokens, S context. */
static double flops(const lt2_dims *d, double Nv, double Na, double S) {
  double Dv = (double)(d->heads * d->dh), Da = (double)(d->aheads * d->adh);
  double blk = 0;
  blk += attn_fl(Nv, Nv, Dv, Dv, Dv) + attn_fl(Nv, S, Dv, Dv, Dv) +
         16 * Nv * Dv * Dv;
  blk += attn_fl(Na, Na, Da, Da, Da) + attn_fl(Na, S, Da, Da, Da) +
         16 * Na * Da * Da;
  blk += attn_fl(Nv, Na, Da, Dv, Da) + attn_fl(Na, Nv, Da, Da, Dv);
  double glob =
      2 * Nv * (double)d->in * Dv * 2 + 2 * Na * (double)d->ain * Da * 2 +
      2 * S * (double)d->caption * (Dv + Da) + 2 * S * (Dv * Dv + Da * Da);
  return blk * (double)d->layers + glob;
}

static int run_stage(lt_host *h, warm_instance *inst, const lt2_dims *d,
                     const warm_model_info *mi, const char *label, int64_t B,
                     int64_t F, int64_t H, int64_t W, int64_t Na, double peak) {
  warm_tensor in[10];
  uint32_t n = lt2_inputs(mi, B, F, H, W, Na, 1024, 5, in);
  if (!n) {
    fprintf(stderr, "%s: out of host memory for the inputs\n", label);
    return 1;
  }
  static const uint32_t stg[1] = {1};
  warm_perturbation pt[4] = {{2, WARM_PERTURB_SKIP_VIDEO_SELF_ATTN, stg, 1},
                             {2, WARM_PERTURB_SKIP_AUDIO_SELF_ATTN, stg, 1},
                             {3, WARM_PERTURB_SKIP_A2V_CROSS_ATTN, NULL, 0},
                             {3, WARM_PERTURB_SKIP_V2A_CROSS_ATTN, NULL, 0}};
  double t[REPS];
  int rc = 0;
  warm_ledger_mark_reset(h->ledger);
  for (int r = -1; r < REPS && !rc; r++) {
    warm_run_args a;
    memset(&a, 0, sizeof a);
    a.struct_size = sizeof a;
    a.inputs = in;
    a.n_inputs = n;
    a.perturbations = B == 4 ? pt : NULL;
    a.n_perturbations = B == 4 ? 4 : 0;
    warm_error err = {0};
    double t0 = lt_now();
    rc = h->desc->run(inst, &a, &err);
    if (rc) {
      fprintf(stderr, "%s: run: %s\n", label, err.msg);
      break;
    }
    if (r >= 0) t[r] = lt_now() - t0;
    for (uint32_t i = 0; i < a.n_outputs; i++)
      warm_tensor_free(&a.outputs[i]);
  }
  if (!rc) {
    qsort(t, REPS, sizeof *t, cmp);
    double med = t[REPS / 2],
           fl = flops(d, (double)(F * H * W), (double)Na, 1024.0) * (double)B;
    double tf = fl / med / 1e12;
    printf("%s: %lld passes x (%lld video + %lld audio tokens), %lld blocks: "
           "%.4f s, %.1f TFLOP, %.1f TFLOP/s, MFU %.1f%% (peak %.0f); "
           "peak device %.2f GiB\n",
           label, (long long)B, (long long)(F * H * W), (long long)Na,
           (long long)d->layers, med, fl / 1e12, tf, 100 * tf / peak, peak,
           (double)lt_peak(h) / (1 << 30));
    printf("RESULT ltx2_%s_s %.4f s\n", label, med);
    printf("RESULT ltx2_%s_TFLOPs %.2f TFLOP/s\n", label, tf);
    printf("RESULT ltx2_%s_MFU %.4f\n", label, tf / peak);
  }
  for (uint32_t i = 0; i < n; i++)
    warm_tensor_free(&in[i]);
  return rc;
}

int main(void) {
  if (!wk_backend_available(WK_BACKEND_CUDA)) {
    printf("SKIP: no CUDA device\n");
    return 77;
  }
  const char *ls = getenv("LTX2_GPUBENCH_LAYERS");
  const char *ps = getenv("LTX2_PEAK_TFLOPS");
  int layers = ls ? atoi(ls) : 2;
  double peak = ps ? atof(ps) : 989.0;
  if (layers < 1 || layers > 48) layers = 2;
  if (!(peak > 0)) peak = 989.0;
  char dir[256], ckpt[300], cmd[900];
  snprintf(dir, sizeof dir, "%s/gpubench-ltx2-XXXXXX", WARM_BUILD_DIR);
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(ckpt, sizeof ckpt, "%s/ltx2.safetensors", dir);
  snprintf(cmd, sizeof cmd,
           "'%s' --arch ltx2 --variant 2.0 --preset full --sparse --dtype bf16 "
           "--set transformer.num_layers=%d --seed 11 --out '%s' --quiet",
           MKMODEL, layers, ckpt);
  double t0 = lt_now();
  lt2_dims d;
  if (system(cmd) != 0 || read_dims(ckpt, &d)) {
    fprintf(stderr, "failed: %s\n", cmd);
    return 1;
  }
  printf("checkpoint: LTX-2.0 production dims, %d blocks, bf16, sparse (%.1f "
         "s to write)\n",
         layers, lt_now() - t0);
  lt_host h;
  int rc = 1;
  if (lt_host_init_on(&h, "transformer_ltx2", 120ull << 30, WK_BACKEND_CUDA))
    goto done;
  lt_key(&h, "max_timestep_values", "4");
  warm_component_config cfg = lt_config(&h, ckpt, WARM_BF16);
  cfg.device.type = WARM_DEVICE_CUDA;
  warm_instance *inst = NULL;
  warm_error err = {0};
  warm_model_info mi;
  memset(&mi, 0, sizeof mi);
  mi.struct_size = sizeof mi;
  warm_place_req req = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  if (h.desc->create(&h.svc, &cfg, &inst, &err) ||
      h.desc->info(inst, &mi, &err) || h.desc->place(inst, &req, &err)) {
    fprintf(stderr, "warmd: %s\n", err.msg);
  } else {
    rc = run_stage(&h, inst, &d, &mi, "stage1", 4, 16, 16, 24, 126, peak);
    rc |= run_stage(&h, inst, &d, &mi, "stage2", 1, 16, 32, 48, 126, peak);
  }
  if (inst) h.desc->destroy(inst);
  lt_host_fini(&h);
done:
  unlink(ckpt);
  rmdir(dir);
  return rc ? 1 : 0;
}
