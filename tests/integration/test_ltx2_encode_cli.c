/*
 * text_encoder_ltx2 through the warmd binary: `warmd --encode` writes
 * video_context, audio_context and mask with the usual __metadata__
 * (prompt, tokens, fingerprint, placement, component), and the contexts are
 * the same bytes whether the component is resident, streamed (W = 1, 3;
 * pinned or mmap) or left to auto; the fingerprint does not depend on the
 * placement.
 *
 * argv[1]: the folder the ltx2_text_ckpt fixture filled.
 */
#include "warm/safetensors.h"
#include "wh_testutil.h"

static const char *ckpt;
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
  if (*st) CHECK(used && !strcmp(used, want), "%s: placement used %s, want %s",
                 tag, used ? used : "-", want);
  return *st ? 0 : -1;
}

static void test_contexts_and_metadata_across_placements(void) {
  /* auto: with room for everything it picks resident; with a budget below
   * the resident estimate (~1.5 MiB here) but above the streamed one, it
   * streams. */
  const char *tags[6] = {"resident", "stream1",   "stream3mmap",
                         "auto",     "autotight", "stream2"};
  const char *pl[6] = {
      "placement = resident\n", "placement = stream\nstream_window = 1\n",
      "placement = stream\nstream_window = 3\nstream_source = mmap\n",
      "placement = auto\n", "placement = auto\n",
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
    CHECK(fp && used && tokens && prompt &&
              warm_st_metadata(st, "component"),
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

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_ltx2_encode_cli CHECKPOINT_DIR\n");
    return 2;
  }
  ckpt = argv[1];
  wt_tempdir(dir, sizeof dir, "ltx2-encode-cli");
  RUN(test_contexts_and_metadata_across_placements);
  if (!wt_failures) wt_rmtree(dir);
  return wt_failures ? 1 : 0;
}
