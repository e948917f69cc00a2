/*
 * text_encoder_ltx2 through the warmd binary: `warmd --encode` writes
 * video_context, audio_context and mask with the usual __metadata__
 * (prompt, tokens, fingerprint, placement, component), and the contexts are
 * the same bytes whether the component is resident, streamed (W = 1, 3;
 * pinned or mmap) or left to auto; the fingerprint does not depend on the
 * placement. A job whose transformer takes "embeddings" refuses the
 * encoder with a reason.
 *
 * argv[1]: the folder the ltx2_text_ckpt fixture filled; argv[2]: the one
 * the pipeline_checkpoints fixture filled.
 */
#include "warm/safetensors.h"
#include "wh_testutil.h"

static const char *ckpt, *pipe_ckpt;
static char dir[256];

static void write_config(const char *ini, const char *placement,
                         const char *budget) {
  wt_write(ini,
           "[host]\nplugin_dir = %s/plugins\nadmin_socket = %s/admin.sock\n"
           "output_dir = %s/out\n"
           "[device cpu]\nbudget = %s\n"
           "[component text_encoder]\nplugin = text_encoder_ltx2\n"
           "weights = %s/gemma\nltx_checkpoint = %s/ltx2_v23.safetensors\n"
           "max_tokens = 128\n%s",
           WARM_BUILD_DIR, dir, dir, budget, ckpt, ckpt, placement);
}

static int encode(const char *tag, const char *placement, const char *budget,
                  const char *want, warm_st **st) {
  char ini[512], path[512], cmd[2048], out[8192];
  snprintf(ini, sizeof ini, "%s/%s.ini", dir, tag);
  snprintf(path, sizeof path, "%s/%s.safetensors", dir, tag);
  write_config(ini, placement, budget);
  snprintf(cmd, sizeof cmd,
           "%s/bin/warmd -c %s --encode '  a red fox, running ' --out %s",
           WARM_BUILD_DIR, ini, path);
  int rc = wt_run(cmd, out, sizeof out);
  CHECK(rc == 0, "%s: warmd --encode: %s", tag, out);
  warm_error err = {0};
  *st = NULL;
  if (rc == 0) CHECK(warm_st_open(path, st, &err) == 0, "%s", err.msg);
  const char *used = *st ? warm_st_metadata(*st, "placement") : NULL;
  if (*st)
    CHECK(used && !strcmp(used, want), "%s: placement used %s, want %s", tag,
          used ? used : "-", want);
  return *st ? 0 : -1;
}

static void test_contexts_and_metadata_across_placements(void) {
  /* auto: with room for everything it picks resident; with a budget below
   * the resident estimate (~1.5 MiB here) but above the streamed one, it
   * streams. */
  const char *tags[6] = {"resident", "stream1",   "stream3mmap",
                         "auto",     "autotight", "stream2"};
  const char *pl[6] = {
      "placement = resident\n",
      "placement = stream\nstream_window = 1\n",
      "placement = stream\nstream_window = 3\nstream_source = mmap\n",
      "placement = auto\n",
      "placement = auto\n",
      "placement = stream\nstream_window = 2\n"};
  const char *budget[6] = {"1GiB", "1GiB", "1GiB", "1GiB", "1200KiB", "1GiB"};
  const char *want[6] = {"resident", "stream", "stream",
                         "resident", "stream", "stream"};
  warm_st *ref = NULL;
  warm_tensor rv, ra;
  const char *rfp = NULL;
  for (int i = 0; i < 6; i++) {
    warm_st *st;
    if (encode(tags[i], pl[i], budget[i], want[i], &st)) continue;
    warm_tensor v, a, m;
    warm_error err = {0};
    int ok = warm_st_get(st, "video_context", &v, &err) == 0 &&
             warm_st_get(st, "audio_context", &a, &err) == 0 &&
             warm_st_get(st, "mask", &m, &err) == 0;
    CHECK(ok, "%s: %s", tags[i], err.msg);
    const char *fp = warm_st_metadata(st, "fingerprint");
    const char *used = warm_st_metadata(st, "placement");
    const char *tokens = warm_st_metadata(st, "tokens");
    const char *prompt = warm_st_metadata(st, "prompt");
    CHECK(fp && used && tokens && prompt && warm_st_metadata(st, "component"),
          "%s: metadata prompt, tokens, fingerprint, placement, component",
          tags[i]);
    CHECK(prompt && !strcmp(prompt, "  a red fox, running "),
          "the prompt as given is recorded");
    if (ok) {
      CHECK(v.ndim == 2 && v.shape[0] == 128 && a.shape[0] == 128 &&
                m.shape[0] == 128 && m.dtype == WARM_I32,
            "%s: [128, C] contexts and mask [128]", tags[i]);
      CHECK(tokens && atoi(tokens) == 128,
            "tokens = mask count (all ones: registers fill the padding)");
    }
    printf("%s: placement %s, fingerprint %s\n", tags[i], used ? used : "-",
           fp ? fp : "-");
    if (!ref) {
      ref = st;
      rv = v, ra = a, rfp = fp;
      continue;
    }
    if (ok)
      CHECK(warm_tensor_bytes(&v) == warm_tensor_bytes(&rv) &&
                !memcmp(v.data, rv.data, warm_tensor_bytes(&v)) &&
                !memcmp(a.data, ra.data, warm_tensor_bytes(&a)),
            "%s: the resident bytes", tags[i]);
    CHECK(fp && rfp && !strcmp(fp, rfp), "%s: same fingerprint", tags[i]);
    warm_st_close(st);
  }
  warm_st_close(ref);
}

static void test_an_embeddings_pipeline_refuses_the_contexts(void) {
  char ini[512], cmd[2048], out[8192];
  snprintf(ini, sizeof ini, "%s/once.ini", dir);
  wt_write(ini,
           "[host]\nplugin_dir = %s/plugins\nadmin_socket = %s/once.sock\n"
           "output_dir = %s/out\n[device cpu]\nbudget = 1GiB\n"
           "[component text_encoder]\nplugin = text_encoder_ltx2\n"
           "weights = %s/gemma\nltx_checkpoint = %s/ltx2_v20.safetensors\n"
           "max_tokens = 128\n[component transformer]\n"
           "plugin = transformer_ltxv\nweights = %s/dit1\n"
           "[component vae]\nplugin = vae_ltxv\nweights = %s/vae\n"
           "[pipeline]\nencoder = text_encoder\nstages = transformer\n"
           "decoder = vae\nframes = 9\nheight = 32\nwidth = 32\nsteps = 2\n",
           WARM_BUILD_DIR, dir, dir, ckpt, ckpt, pipe_ckpt, pipe_ckpt);
  snprintf(cmd, sizeof cmd, "%s/bin/warmd -c %s --once --prompt fox --out %s/o",
           WARM_BUILD_DIR, ini, dir);
  CHECK(wt_run(cmd, out, sizeof out) == 1 && strstr(out, "LTX-2 conditioning"),
        "refused with a reason: %s", out);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test_ltx2_encode_cli LTX2_TEXT_DIR PIPELINE_DIR\n");
    return 2;
  }
  ckpt = argv[1];
  pipe_ckpt = argv[2];
  wt_tempdir(dir, sizeof dir, "ltx2-encode-cli");
  RUN(test_contexts_and_metadata_across_placements);
  RUN(test_an_embeddings_pipeline_refuses_the_contexts);
  if (!wt_failures) wt_rmtree(dir);
  return wt_failures ? 1 : 0;
}
