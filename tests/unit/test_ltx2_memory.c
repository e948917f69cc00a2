/*
 * test_ltx2_memory — transformer_ltx2's estimate() bounds the ledger's peak
 * over place + run for every placement (resident, stream W=1 and W=2 from
 * pinned and mmap), dtype (f32, bf16, fp8) and several job sizes, with
 * the run's token counts exactly those the job implies (video
 * ((F-1)/8+1) x H/32 x W/32, audio ceil(F/24 x 25), B passes) and a
 * run-time adapter configured. Also: peak workspace grows with the job, and
 * an estimate for a job larger than the run stays an upper bound.
 */
#include "test_ltx2_inputs.h"
#include "test_ltxv_host.h"

#define CKPT WARM_BUILD_DIR "/ltx2-ckpt/v20.safetensors"
#define LORA WARM_BUILD_DIR "/ltx2-ckpt/v20_lora.safetensors 0.5"

typedef struct job {
  uint32_t frames, height, width, batch, tokens;
} job;

static void one(const job *j, warm_dtype dt, const warm_place_req *req,
                uint64_t *ws_out) {
  lt_host h;
  if (lt_host_init(&h, "transformer_ltx2", 1ull << 32)) {
    lt_failures++;
    return;
  }
  lt_key(&h, "lora.fast", LORA);
  warm_component_config cfg = lt_config(&h, CKPT, dt);
  warm_instance *inst = NULL;
  warm_error err = {0};
  warm_model_info mi;
  memset(&mi, 0, sizeof mi);
  mi.struct_size = sizeof mi;
  warm_tensor in[10];
  uint32_t n = 0;
  char label[160];
  snprintf(label, sizeof label, "%ux%ux%u B=%u %s %s W=%u %s", j->frames,
           j->height, j->width, j->batch, warm_dtype_name(dt),
           req->placement == WARM_PLACE_RESIDENT ? "resident" : "stream",
           req->stream_window,
           req->stream_source == WARM_SOURCE_MMAP ? "mmap" : "pinned");
  if (h.desc->create(&h.svc, &cfg, &inst, &err) ||
      h.desc->info(inst, &mi, &err)) {
    LT_CHECK(0, "%s: %s", label, err.msg);
    goto out;
  }
  warm_job_shape js = {j->tokens, j->frames, j->height, j->width, j->batch};
  warm_estimate est;
  LT_CHECK(h.desc->estimate(inst, req, &js, &est, &err) == 0, "%s: %s", label,
           err.msg);
  int64_t F = (j->frames - 1) / 8 + 1, H = j->height / 32, W = j->width / 32;
  int64_t Na = (int64_t)ceil((double)j->frames / 24.0 * 25.0);
  n = lt2_inputs(&mi, j->batch, F, H, W, Na, j->tokens, 9, in);
  warm_ledger_mark_reset(h.ledger);
  if (h.desc->place(inst, req, &err)) {
    LT_CHECK(0, "%s: place: %s", label, err.msg);
    goto out;
  }
  for (int adapter = 0; adapter < 2; adapter++) {
    warm_run_args a;
    memset(&a, 0, sizeof a);
    a.struct_size = sizeof a;
    a.inputs = in;
    a.n_inputs = n;
    a.adapter = adapter ? "fast" : NULL;
    if (h.desc->run(inst, &a, &err)) {
      LT_CHECK(0, "%s: run: %s", label, err.msg);
      break;
    }
    for (uint32_t i = 0; i < a.n_outputs; i++) warm_tensor_free(&a.outputs[i]);
  }
  uint64_t bound = est.persistent + est.window + est.workspace;
  LT_CHECK(lt_peak(&h) <= bound, "%s: ledger peak %llu > estimate %llu", label,
           (unsigned long long)lt_peak(&h), (unsigned long long)bound);
  LT_CHECK(h.pinned_now <= est.host_pinned, "%s: pinned %llu > %llu", label,
           (unsigned long long)h.pinned_now,
           (unsigned long long)est.host_pinned);
  if (ws_out) *ws_out = est.workspace;
out:
  for (uint32_t i = 0; i < n; i++) warm_tensor_free(&in[i]);
  if (inst) h.desc->destroy(inst);
  lt_host_fini(&h);
}

int main(void) {
  const job jobs[3] = {{9, 64, 96, 1, 8}, {17, 96, 128, 4, 16},
                       {25, 128, 160, 2, 32}};
  const warm_place_req reqs[5] = {
      {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED},
      {WARM_PLACE_STREAM, 1, WARM_SOURCE_PINNED},
      {WARM_PLACE_STREAM, 2, WARM_SOURCE_PINNED},
      {WARM_PLACE_STREAM, 1, WARM_SOURCE_MMAP},
      {WARM_PLACE_STREAM, 2, WARM_SOURCE_MMAP}};
  const warm_dtype dts[3] = {WARM_F32, WARM_BF16, WARM_FP8_E4M3};
  uint64_t ws[3] = {0};
  for (int j = 0; j < 3; j++)
    for (int d = 0; d < 3; d++)
      for (int r = 0; r < 5; r++)
        one(&jobs[j], dts[d], &reqs[r], d == 0 && r == 0 ? &ws[j] : NULL);
  LT_CHECK(ws[0] < ws[1] && ws[1] < ws[2],
           "workspace estimates do not grow with the job: %llu %llu %llu",
           (unsigned long long)ws[0], (unsigned long long)ws[1],
           (unsigned long long)ws[2]);
  printf("45 placements x dtypes x jobs: ledger peak within the estimate; "
         "workspace %llu / %llu / %llu bytes\n",
         (unsigned long long)ws[0], (unsigned long long)ws[1],
         (unsigned long long)ws[2]);
  if (lt_failures) fprintf(stderr, "%d failure(s)\n", lt_failures);
  return lt_failures ? 1 : 0;
}
