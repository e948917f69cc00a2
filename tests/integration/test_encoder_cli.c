/*
 * The Gemma-3 encoder through the warmd binary: `warmd --encode` writes the
 * embeddings, mask and metadata (the empty prompt too: BOS alone); bad
 * prompts and missing options exit 1/2
 * with a reason; `--once` refuses bad job sizes; and a live placement switch
 * over the admin socket drops the encoder's ledger bytes while the
 * transformer's stay put.
 *
 * argv[1]: the folder the pipeline_checkpoints fixture filled.
 */
#include <jansson.h>

#include "warm/safetensors.h"
#include "wh_testutil.h"

static const char *ckpt;
static char dir[256], ini[300], sock[300];

static void write_config(void) {
  snprintf(ini, sizeof ini, "%s/warmd.ini", dir);
  snprintf(sock, sizeof sock, "%s/admin.sock", dir);
  wt_write(ini,
           "[host]\nplugin_dir = %s/plugins\nadmin_socket = %s\n"
           "output_dir = %s/out\n[device cpu]\nbudget = 1GiB\n"
           "[component text_encoder]\nplugin = text_encoder_gemma3\n"
           "weights = %s/enc\nplacement = resident\nmax_tokens = 16\n"
           "[component transformer]\nplugin = transformer_ltxv\n"
           "weights = %s/dit1\nplacement = resident\n"
           "[component vae]\nplugin = vae_ltxv\nweights = %s/vae\n"
           "[pipeline]\nencoder = text_encoder\nstages = transformer\n"
           "decoder = vae\nframes = 9\nheight = 32\nwidth = 32\nsteps = 2\n",
           WARM_BUILD_DIR, sock, dir, ckpt, ckpt, ckpt);
}

static void test_encode_writes_embeddings_mask_and_metadata(void) {
  char cmd[2048], out[8192], path[512];
  snprintf(path, sizeof path, "%s/fox.safetensors", dir);
  snprintf(cmd, sizeof cmd,
           "%s/bin/warmd -c %s --encode 'a red fox, running' --out %s",
           WARM_BUILD_DIR, ini, path);
  CHECK(wt_run(cmd, out, sizeof out) == 0, "warmd --encode: %s", out);
  warm_st *st = NULL;
  warm_error err = {0};
  CHECK(warm_st_open(path, &st, &err) == 0, "%s", err.msg);
  if (!st) return;
  warm_tensor e, m;
  CHECK(warm_st_get(st, "embeddings", &e, &err) == 0, "%s", err.msg);
  CHECK(warm_st_get(st, "mask", &m, &err) == 0, "%s", err.msg);
  CHECK(e.dtype == WARM_F32 && e.ndim == 2 && e.shape[0] == 16 &&
            e.shape[1] == 64,
        "embeddings [16, 64] f32");
  CHECK(m.dtype == WARM_I32 && m.ndim == 1 && m.shape[0] == 16, "mask [16]");
  int ones = 0;
  for (int i = 0; i < 16; i++) ones += ((const int32_t *)m.data)[i] != 0;
  const char *prompt = warm_st_metadata(st, "prompt");
  const char *tokens = warm_st_metadata(st, "tokens");
  const char *fp = warm_st_metadata(st, "fingerprint");
  const char *pl = warm_st_metadata(st, "placement");
  CHECK(prompt && !strcmp(prompt, "a red fox, running"), "prompt recorded");
  CHECK(tokens && atoi(tokens) == ones && ones > 1, "tokens = mask count");
  CHECK(fp && strlen(fp) >= 16, "fingerprint recorded");
  CHECK(pl && !strcmp(pl, "resident"), "placement used: %s", pl ? pl : "-");
  warm_st_close(st);

  /* The same prompt again gives the same bytes. */
  char path2[512];
  snprintf(path2, sizeof path2, "%s/fox2.safetensors", dir);
  snprintf(cmd, sizeof cmd,
           "%s/bin/warmd -c %s --encode 'a red fox, running' --out %s && "
           "cmp %s %s",
           WARM_BUILD_DIR, ini, path2, path, path2);
  CHECK(wt_run(cmd, out, sizeof out) == 0, "same bytes twice: %s", out);
}

static void test_bad_prompts_and_options_exit_with_a_reason(void) {
  char cmd[2048], out[8192];
  /* The empty prompt is valid (HF's tokenizer gives BOS alone). */
  char epath[512];
  snprintf(epath, sizeof epath, "%s/e.st", dir);
  snprintf(cmd, sizeof cmd, "%s/bin/warmd -c %s --encode '' --out %s",
           WARM_BUILD_DIR, ini, epath);
  CHECK(wt_run(cmd, out, sizeof out) == 0, "empty prompt: %s", out);
  warm_st *est = NULL;
  warm_error eerr = {0};
  if (warm_st_open(epath, &est, &eerr) == 0) {
    const char *tk = warm_st_metadata(est, "tokens");
    CHECK(tk && atoi(tk) == 1, "empty prompt: BOS alone (%s)", tk ? tk : "-");
    warm_st_close(est);
  }
  snprintf(cmd, sizeof cmd, "%s/bin/warmd -c %s --encode $'\\xff\\xfe' --out "
           "%s/u.st", WARM_BUILD_DIR, ini, dir);
  char bash[2200];
  snprintf(bash, sizeof bash, "bash -c \"%s\"", cmd);
  CHECK(wt_run(bash, out, sizeof out) == 1 && strstr(out, "UTF-8"),
        "invalid UTF-8: %s", out);
  snprintf(cmd, sizeof cmd, "%s/bin/warmd -c %s --encode 'x'", WARM_BUILD_DIR,
           ini);
  CHECK(wt_run(cmd, out, sizeof out) == 2 && strstr(out, "--out"),
        "missing --out: %s", out);
  snprintf(cmd, sizeof cmd,
           "%s/bin/warmd -c %s --once --prompt fox --frames 8 --out %s/o",
           WARM_BUILD_DIR, ini, dir);
  CHECK(wt_run(cmd, out, sizeof out) == 1 && strstr(out, "frames = 8"),
        "bad frames: %s", out);
  snprintf(cmd, sizeof cmd,
           "%s/bin/warmd -c %s --once --prompt fox --width 0 --out %s/o",
           WARM_BUILD_DIR, ini, dir);
  CHECK(wt_run(cmd, out, sizeof out) == 1 && strstr(out, "--width"),
        "zero width: %s", out);
  snprintf(cmd, sizeof cmd,
           "%s/bin/warmd -c %s --once --prompt fox --height 100000 --out %s/o",
           WARM_BUILD_DIR, ini, dir);
  CHECK(wt_run(cmd, out, sizeof out) == 1 && strstr(out, "height"),
        "absurd height: %s", out);
}

/* The --once summary names the placement each component actually ran in,
 * with "(auto)" beside the one configured auto. */
static void test_once_summary_shows_the_placement_used(void) {
  char cmd[2400], out[8192];
  snprintf(cmd, sizeof cmd,
           "sed '0,/placement = resident/s//placement = auto/' %s > %s.auto && "
           "%s/bin/warmd -c %s.auto --once --prompt fox --out %s/once",
           ini, ini, WARM_BUILD_DIR, ini, dir);
  CHECK(wt_run(cmd, out, sizeof out) == 0, "--once: %s", out);
  const char *enc = strstr(out, "  text_encoder ");
  const char *dit = strstr(out, "  transformer ");
  CHECK(enc && !strncmp(enc + 25, "resident (auto)", 15),
        "the auto encoder ran resident: %s", out);
  CHECK(dit && !strncmp(dit + 25, "resident ", 9) &&
            strncmp(dit + 25, "resident (", 10),
        "the transformer as configured: %s", out);
}

/* Ledger bytes (resident + window + workspace) of a component in `show
 * memory json`. */
static long long bytes_of(const char *reply, const char *name) {
  json_t *doc = json_loads(reply ? reply : "", 0, NULL);
  long long total = -1;
  json_t *dev = json_array_get(json_object_get(doc, "devices"), 0);
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(dev, "components"), i, c) {
    if (strcmp(json_string_value(json_object_get(c, "name")), name)) continue;
    total = json_integer_value(json_object_get(c, "resident")) +
            json_integer_value(json_object_get(c, "window")) +
            json_integer_value(json_object_get(c, "workspace"));
  }
  json_decref(doc);
  return total;
}

static void test_live_switch_over_the_socket_drops_encoder_bytes(void) {
  char bin[512], log[512];
  snprintf(bin, sizeof bin, "%s/bin/warmd", WARM_BUILD_DIR);
  snprintf(log, sizeof log, "%s/warmd.log", dir);
  char *argv[] = {bin, "-c", ini, NULL};
  wt_proc p;
  CHECK(wt_spawn(&p, log, argv) == 0, "spawn");
  if (wt_wait_socket(&p, sock, 30) != 0) {
    wt_dump_log(&p);
    CHECK(0, "warmd did not come up");
    return;
  }
  char *before = wt_cmd(sock, "show memory json");
  char *r = wt_cmd(sock, "set component text_encoder placement stream");
  char *after = wt_cmd(sock, "show memory json");
  long long e0 = bytes_of(before, "text_encoder"),
            e1 = bytes_of(after, "text_encoder");
  long long t0 = bytes_of(before, "transformer"),
            t1 = bytes_of(after, "transformer");
  CHECK(r && strncmp(r, "ERR", 3), "set placement: %s", r ? r : "(none)");
  CHECK(e0 > 0 && e1 > 0 && e1 < e0, "encoder bytes %lld -> %lld", e0, e1);
  CHECK(t0 > 0 && t0 == t1, "transformer bytes %lld -> %lld", t0, t1);
  free(r);
  r = wt_cmd(sock, "set component text_encoder placement sideways");
  CHECK(r && !strncmp(r, "ERR", 3), "bad placement refused: %s",
        r ? r : "(none)");
  free(r);
  r = wt_cmd(sock, "set component no_such placement stream");
  CHECK(r && !strncmp(r, "ERR 404", 7), "unknown component: %s",
        r ? r : "(none)");
  free(r);
  free(before);
  free(after);
  kill(p.pid, SIGTERM);
  CHECK(wt_wait_exit(&p, 30) == 0, "clean exit");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_encoder_cli CHECKPOINT_DIR\n");
    return 2;
  }
  ckpt = argv[1];
  wt_tempdir(dir, sizeof dir, "encoder-cli");
  write_config();
  RUN(test_encode_writes_embeddings_mask_and_metadata);
  RUN(test_bad_prompts_and_options_exit_with_a_reason);
  RUN(test_once_summary_shows_the_placement_used);
  RUN(test_live_switch_over_the_socket_drops_encoder_bytes);
  if (!wt_failures) wt_rmtree(dir);
  return wt_failures ? 1 : 0;
}
