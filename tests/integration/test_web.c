/*
 * test_web.c — the built-in web page in a real headless browser (Debian's
 * chromium, driven over the DevTools protocol): the page loads from warmd,
 * a prompt submitted through its form runs on the real pipeline (tiny
 * models), the page's progress reaches 100%, the memory bars move while the
 * job runs, the <video> element loads and decodes the job's MP4, the job
 * list's cancel button cancels a queued job, with API keys the page asks
 * for one and then works, and a screenshot is saved
 * (<build>/web-screenshot.png, and web-screenshot-running.png while the job
 * runs). No network: everything is on loopback.
 */
#include <jansson.h>
#include <math.h>

#include "cdp.h"
#include "http_testutil.h"
#include "wh_testutil.h"

static char dir[512], sock[700], cfg[700], logpath[700];
static wt_proc proc;
static int port;
static cdp br;

static void write_config(const char *extra) {
  wt_write(cfg,
           "[host]\n%splugin_dir = %s/plugins\nadmin_socket = %s\n"
           "output_dir = %s/out\nhttp_listen = 127.0.0.1:0\nmax_queue = 8\n"
           "shutdown_timeout = 1\n"
           "[device cpu]\nbudget = 8MiB\n[cache]\nembeddings = 16MiB\n"
           "[component text_encoder]\nplugin = hello_encoder\ndevice = cpu\n"
           "placement = resident\ndim = 24\nbuckets = 512\n"
           "[component transformer]\nplugin = transformer_ltxv\n"
           "weights = %s/ltxv-ckpt/dit_tiny\ndevice = cpu\n"
           "placement = resident\n"
           "[component vae]\nplugin = vae_ltxv\n"
           "weights = %s/ltxv-ckpt/vae_tiny\ndevice = cpu\n"
           "placement = resident\n"
           "[pipeline]\nencoder = text_encoder\nstages = transformer\n"
           "decoder = vae\nframes = 9\nheight = 32\nwidth = 32\nsteps = 2\n"
           "guidance = 1\n",
           extra, WARM_BUILD_DIR, sock, dir, WARM_BUILD_DIR, WARM_BUILD_DIR);
}

static char *eval_str(const char *js) {
  json_t *v = cdp_eval(&br, js);
  char *s = NULL;
  if (v && json_is_string(v))
    s = strdup(json_string_value(v));
  else if (v)
    s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  json_decref(v);
  return s;
}

static double eval_num(const char *js) {
  json_t *v = cdp_eval(&br, js);
  double x = v && json_is_number(v) ? json_number_value(v) : -1;
  json_decref(v);
  return x;
}

/* The form's job: submitted by clicking Generate, then watched through the
 * page only (progress text, memory bars, the video element). */
static void test_web_page_submits_watches_and_plays(void) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
  CHECK(cdp_open(&br, url, 1280, 900) == 0, "open the page: %s", br.err);
  CHECK(
      cdp_wait_true(
          &br, "document.getElementById('ready').textContent === 'ready'", 20),
      "the page shows warmd ready");
  CHECK(cdp_wait_true(
            &br, "document.querySelectorAll('#components tr').length === 3", 5),
        "the page lists the three components");
  char *before = eval_str("document.querySelector('.device').dataset.used");
  CHECK(
      cdp_wait_true(
          &br,
          "(() => { const f = (id, v) => document.getElementById(id).value = v;"
          " f('prompt', 'a heron over a lake at dawn'); f('frames', '17');"
          " f('width', '64'); f('height', '64'); f('steps', '200'); f('seed', "
          "'7');"
          " document.getElementById('submit').click(); return true; })()",
          5),
      "fill the form and click Generate");
  /* Watch the page: every value the memory bar shows until the job ends. */
  json_t *seen = json_object();
  double end = wt_now() + 60;
  int pct = -1, running_shot = 0;
  while (wt_now() < end) {
    char *used = eval_str("document.querySelector('.device').dataset.used");
    if (used) json_object_set_new(seen, used, json_true());
    free(used);
    pct = (int)eval_num(
        "Number(document.getElementById('current').dataset.progress ?? -1)");
    if (pct == 100) break;
    if (pct >= 30 && !running_shot) {
      char shot[1024];
      snprintf(shot, sizeof shot, "%s/web-screenshot-running.png",
               WARM_BUILD_DIR);
      running_shot = cdp_screenshot(&br, shot) == 0;
    }
    poll(NULL, 0, 40);
  }
  CHECK(pct == 100, "the page's progress reached 100%% (last %d%%)", pct);
  char *msg = eval_str("document.getElementById('formerr').textContent");
  CHECK(msg && !*msg, "no form error: %s", msg ? msg : "?");
  free(msg);
  /* The bar shows the idle bytes before the job and more while it runs
   * (its workspace and reservations). */
  int moved = 0;
  const char *k;
  json_t *v;
  json_object_foreach(seen, k, v) moved |= before && strcmp(k, before) != 0;
  CHECK(moved && json_object_size(seen) >= 2,
        "the memory bar moved during the job: %zu distinct values (idle %s)",
        json_object_size(seen), before ? before : "?");
  fprintf(stderr, "memory bar values seen while the job ran: %zu\n",
          json_object_size(seen));
  json_decref(seen);
  free(before);

  /* The video element loads the MP4 and decodes frames of the right size. */
  CHECK(cdp_wait_true(
            &br,
            "(() => { const v = document.getElementById('player');"
            " return v.src.endsWith('/video.mp4') && v.readyState >= 2 &&"
            " !v.error && v.videoWidth === 64 && v.videoHeight === 64; })()",
            20),
        "the video element plays the job's MP4: %s",
        eval_str("(() => { const v = document.getElementById('player');"
                 " return JSON.stringify({src: v.src, rs: v.readyState, w: "
                 "v.videoWidth,"
                 " err: v.error && v.error.message}); })()"));
  double dur = eval_num("document.getElementById('player').duration");
  /* 17 frames at the pipeline's default 24 fps. */
  CHECK(fabs(dur - 17.0 / 24.0) < 0.01, "video duration %.3f s", dur);
  CHECK(cdp_wait_true(
            &br, "document.querySelector('#jobs tr[data-state=done]') !== null",
            5),
        "the job list shows the job done");

  char shot[1024];
  snprintf(shot, sizeof shot, "%s/web-screenshot.png", WARM_BUILD_DIR);
  CHECK(cdp_screenshot(&br, shot) == 0, "screenshot: %s", br.err);
  struct stat stt;
  CHECK(stat(shot, &stt) == 0 && stt.st_size > 10000, "screenshot %s", shot);
  fprintf(stderr, "screenshot: %s\n", shot);
}

/* Two jobs queued behind a long one: the second's cancel button in the job
 * list cancels it, and the page shows it cancelled. */
static void test_web_page_cancels_a_queued_job(void) {
  const char *js_post =
      "(async () => { const r = await fetch('/v1/generations', {method: 'POST',"
      " headers: {'Content-Type': 'application/json'}, body: "
      "JSON.stringify({prompt:"
      " 'long', frames: 17, width: 64, height: 64, steps: 200})});"
      " return (await r.json()).id; })()";
  char *a = eval_str(js_post), *b = eval_str(js_post);
  CHECK(a && b && strlen(b) > 8, "two jobs posted: %s %s", a ? a : "?",
        b ? b : "?");
  char js[512];
  snprintf(js, sizeof js,
           "(() => { const b = document.querySelector('#jobs "
           "tr[data-job=\"%s\"] button');"
           " if (!b || b.textContent !== 'cancel') return false; b.click(); "
           "return true; })()",
           b ? b : "");
  CHECK(cdp_wait_true(&br, js, 10), "click the queued job's cancel button");
  snprintf(js, sizeof js,
           "document.querySelector('#jobs tr[data-job=\"%s\"]')?.dataset.state "
           "=== 'cancelled'",
           b ? b : "");
  CHECK(cdp_wait_true(&br, js, 10), "the page shows the job cancelled");
  /* Cancel the long one too, so the stop is quick. */
  char path[128];
  snprintf(path, sizeof path, "/v1/generations/%s", a ? a : "x");
  ht_resp r;
  ht_request(port, "DELETE", path, NULL, &r);
  ht_free(&r);
  free(a);
  free(b);
}

static void test_web_status_and_routes(void) {
  ht_resp r;
  ht_request(port, "GET", "/v1/status", NULL, &r);
  json_t *j = r.status == 200 ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
  CHECK(j && json_is_array(json_object_get(j, "devices")) &&
            json_is_array(json_object_get(j, "components")) &&
            json_is_array(json_object_get(j, "jobs")) &&
            json_is_object(json_object_get(j, "cache")),
        "status: %d %.200s", r.status, r.body);
  json_decref(j);
  ht_free(&r);
  ht_request(port, "POST", "/v1/status", "{}", &r);
  CHECK(r.status == 405, "POST /v1/status: %d", r.status);
  ht_free(&r);
  ht_request(port, "GET", "/", NULL, &r);
  CHECK(r.status == 200 && strstr(r.body, "<title>warmd</title>") &&
            !strstr(r.body, "http://") && !strstr(r.body, "https://"),
        "the page is served and fetches nothing from outside");
  ht_free(&r);
  ht_request(port, "GET", "/v1/generations/AAAAAAAAAAAAAAAAAAAAAAAA/video.mp4",
             NULL, &r);
  CHECK(r.status == 404, "mp4 of an unknown job: %d", r.status);
  ht_free(&r);
}

/* With api_keys_file (added by a reload), /v1/status answers 401, the page
 * shows its key field, and once the key is entered it shows warmd ready
 * again and its calls carry the token. */
static void test_web_page_asks_for_the_api_key(void) {
  char keys[700], extra[800];
  snprintf(keys, sizeof keys, "%s/keys", dir);
  wt_write(keys, "web 0123456789abcdef0123456789abcdef\n");
  chmod(keys, 0600);
  snprintf(extra, sizeof extra, "api_keys_file = %s\n", keys);
  write_config(extra);
  char *rep = wt_cmd(sock, "reload");
  CHECK(rep && !strncmp(rep, "reloaded", 8), "reload with keys: %s", rep);
  free(rep);
  ht_resp r;
  ht_request(port, "GET", "/v1/status", NULL, &r);
  CHECK(r.status == 401, "status without a token: %d", r.status);
  ht_free(&r);
  ht_request(port, "GET", "/", NULL, &r);
  CHECK(r.status == 200, "the page itself needs no token: %d", r.status);
  ht_free(&r);
  CHECK(
      cdp_wait_true(&br,
                    "!document.getElementById('auth').hidden && "
                    "document.getElementById('ready').textContent !== 'ready'",
                    10),
      "the page shows the key field");
  CHECK(
      cdp_wait_true(
          &br,
          "(() => { document.getElementById('key').value ="
          " '0123456789abcdef0123456789abcdef';"
          " document.querySelector('#auth button').click(); return true; })()",
          5),
      "enter the key");
  CHECK(
      cdp_wait_true(&br,
                    "document.getElementById('auth').hidden && "
                    "document.getElementById('ready').textContent === 'ready'",
                    10),
      "with the key the page shows warmd ready");
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const char *browser = cdp_browser();
  if (!browser) {
    printf("SKIP: no chromium on this machine (apt-get install chromium)\n");
    return 77;
  }
  const char *need[4] = {"bin/warmd", "plugins/hello_encoder.so",
                         "plugins/transformer_ltxv.so", "plugins/vae_ltxv.so"};
  for (int i = 0; i < 4; i++) {
    char f[1024];
    snprintf(f, sizeof f, "%s/%s", WARM_BUILD_DIR, need[i]);
    if (access(f, R_OK)) {
      printf("SKIP: %s is not built\n", f);
      return 77;
    }
  }
  wt_tempdir(dir, sizeof dir, "web");
  snprintf(sock, sizeof sock, "%s/admin.sock", dir);
  snprintf(cfg, sizeof cfg, "%s/warmd.ini", dir);
  snprintf(logpath, sizeof logpath, "%s/warmd.log", dir);
  write_config("");
  char bin[1024], prof[700], blog[700];
  snprintf(bin, sizeof bin, "%s/bin/warmd", WARM_BUILD_DIR);
  char *argv[] = {bin, "-c", cfg, NULL};
  int up = wt_spawn(&proc, logpath, argv) == 0 &&
           wt_wait_socket(&proc, sock, 30) == 0 &&
           (port = ht_logged_port(logpath, 10)) > 0;
  CHECK(up, "warmd starts with HTTP");
  snprintf(prof, sizeof prof, "%s/profile", dir);
  snprintf(blog, sizeof blog, "%s/chromium.log", dir);
  if (up && cdp_start(&br, browser, prof, blog) == 0) {
    RUN(test_web_status_and_routes);
    RUN(test_web_page_submits_watches_and_plays);
    RUN(test_web_page_cancels_a_queued_job);
    RUN(test_web_page_asks_for_the_api_key);
  } else {
    CHECK(0, "start %s: %s", browser, br.err);
  }
  cdp_stop(&br);
  if (wt_failures) {
    wt_dump_log(&proc);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "tail -n 20 %s >&2", blog);
    if (system(cmd)) fprintf(stderr, "(no browser log)\n");
  }
  if (proc.pid > 0) {
    kill(proc.pid, SIGTERM);
    CHECK(wt_wait_exit(&proc, 20) == 0, "warmd exits 0 after SIGTERM");
  }
  wt_rmtree(dir);
  return wt_failures ? 1 : 0;
}
