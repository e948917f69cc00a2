/*
 * bench_ltx2 — cpu seconds per LTX-2 transformer step on
 * `warm-mkmodel --arch ltx2 --variant 2.0 --preset small` (video 4 heads x
 * 32, audio 4 x 16, 4 blocks), made here; a step is the 4 guidance passes
 * (conditional, negative, STG, isolated) over 2 x 8 x 12 = 192 video and 26
 * audio tokens with 32 context tokens (inputs sized from info()).
 * Baselines in the same run: one call carrying the 4 passes, resident f32,
 * is the reference for (a) the same call streamed through a 2-block window
 * (pinned) and (b) 4 calls of one pass each; streamed, 4 calls are also
 * measured against one streamed call. Median of 5 after a warm-up.
 * Label bench (tests/bench/run.sh), not in ctest's default run.
 */
#include <unistd.h>

#include "test_ltx2_inputs.h"
#include "test_ltxv_host.h"

#define MKMODEL WARM_BUILD_DIR "/bin/warm-mkmodel"
#define REPS 5

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static const uint32_t stg_blocks[1] = {1};
static const warm_perturbation PT[4] = {
    {2, WARM_PERTURB_SKIP_VIDEO_SELF_ATTN, stg_blocks, 1},
    {2, WARM_PERTURB_SKIP_AUDIO_SELF_ATTN, stg_blocks, 1},
    {3, WARM_PERTURB_SKIP_A2V_CROSS_ATTN, NULL, 0},
    {3, WARM_PERTURB_SKIP_V2A_CROSS_ATTN, NULL, 0}};

/* One step: the batch in one call (split = 0) or pass by pass. */
static int step(lt_host *h, warm_instance *inst, const warm_tensor *in,
                uint32_t n, int split) {
  warm_error err = {0};
  int64_t B = in[0].shape[0];
  for (int64_t b = 0; b < (split ? B : 1); b++) {
    warm_tensor v[10];
    warm_perturbation p[4];
    uint32_t np = 0;
    for (uint32_t i = 0; i < n; i++) {
      v[i] = in[i];
      if (split) {
        int64_t per = warm_tensor_numel(&in[i]) / B;
        v[i].shape[0] = 1;
        v[i].data = (float *)in[i].data + b * per;
      }
    }
    for (int i = 0; i < 4; i++)
      if (!split || PT[i].pass == (uint32_t)b) {
        p[np] = PT[i];
        if (split) p[np].pass = 0;
        np++;
      }
    warm_run_args a;
    memset(&a, 0, sizeof a);
    a.struct_size = sizeof a;
    a.inputs = v;
    a.n_inputs = n;
    a.perturbations = p;
    a.n_perturbations = np;
    if (h->desc->run(inst, &a, &err)) {
      fprintf(stderr, "run: %s\n", err.msg);
      return -1;
    }
    for (uint32_t i = 0; i < a.n_outputs; i++)
      warm_tensor_free(&a.outputs[i]);
  }
  return 0;
}

static double time_steps(lt_host *h, warm_instance *inst,
                         const warm_place_req *req, const warm_tensor *in,
                         uint32_t n, int split) {
  warm_error err = {0};
  if (h->desc->place(inst, req, &err)) {
    fprintf(stderr, "place: %s\n", err.msg);
    return -1;
  }
  double t[REPS];
  for (int r = -1; r < REPS; r++) {
    double t0 = lt_now();
    if (step(h, inst, in, n, split)) return -1;
    if (r >= 0) t[r] = lt_now() - t0;
  }
  qsort(t, REPS, sizeof *t, cmp);
  return t[REPS / 2];
}

int main(void) {
  char dir[256], ckpt[300], cmd[800];
  snprintf(dir, sizeof dir, "%s/bench-ltx2-XXXXXX", WARM_BUILD_DIR);
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(ckpt, sizeof ckpt, "%s/ltx2.safetensors", dir);
  snprintf(cmd, sizeof cmd,
           "'%s' --arch ltx2 --variant 2.0 --preset small --seed 7 --out '%s' "
           "--quiet",
           MKMODEL, ckpt);
  if (system(cmd) != 0) {
    fprintf(stderr, "failed: %s\n", cmd);
    return 1;
  }
  warm_tensor in[10];
  uint32_t n = 0;
  lt_host h;
  if (lt_host_init(&h, "transformer_ltx2", 8ull << 30)) return 1;
  warm_component_config cfg = lt_config(&h, ckpt, WARM_F32);
  warm_instance *inst = NULL;
  warm_error err = {0};
  warm_model_info mi;
  memset(&mi, 0, sizeof mi);
  mi.struct_size = sizeof mi;
  int rc = 1;
  if (h.desc->create(&h.svc, &cfg, &inst, &err) ||
      h.desc->info(inst, &mi, &err)) {
    fprintf(stderr, "create: %s\n", err.msg);
    goto out;
  }
  n = lt2_inputs(&mi, 4, 2, 8, 12, 26, 32, 3, in);
  warm_place_req res = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  warm_place_req str = {WARM_PLACE_STREAM, 2, WARM_SOURCE_PINNED};
  double batch = time_steps(&h, inst, &res, in, n, 0);
  double calls = time_steps(&h, inst, &res, in, n, 1);
  double streamed = time_steps(&h, inst, &str, in, n, 0);
  double scalls = time_steps(&h, inst, &str, in, n, 1);
  if (batch <= 0 || calls <= 0 || streamed <= 0 || scalls <= 0) goto out;
  printf("LTX-2 small (4 blocks, 192 video + 26 audio tokens), cpu f32, "
         "one step = 4 guidance passes\n");
  printf("  resident, 4 passes in one call: %.4f s (baseline)\n", batch);
  printf("  resident, 4 calls of one pass:  %.4f s  (x%.2f of baseline)\n",
         calls, calls / batch);
  printf("  streamed W=2, one call:         %.4f s  (x%.2f of baseline)\n",
         streamed, streamed / batch);
  printf("  streamed W=2, 4 calls:          %.4f s  (x%.2f of streamed, "
         "one call; every call streams all blocks)\n",
         scalls, scalls / streamed);
  printf("RESULT ltx2_step_batch_cpu %.4f s\n", batch);
  printf("RESULT ltx2_stream_calls_over_batch %.3f x\n", scalls / streamed);
  printf("RESULT ltx2_calls_over_batch %.3f x\n", calls / batch);
  printf("RESULT ltx2_stream_over_resident %.3f x\n", streamed / batch);
  rc = 0;
out:
  if (inst) h.desc->destroy(inst);
  for (uint32_t i = 0; i < n; i++)
    warm_tensor_free(&in[i]);
  lt_host_fini(&h);
  unlink(ckpt);
  rmdir(dir);
  return rc;
}
