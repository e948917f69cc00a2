/* warm-plugin-check: the command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chk.h"

/* ---- command line -------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f, "usage: warm-plugin-check PLUGIN.so [--weights DIR] [--config "
             "KEY=VALUE ...]\n"
             "         [--device cpu|cuda:N] [--prompt TEXT] [--max-tokens N]\n"
             "         [--shape frames=F,height=H,width=W,batch=B]\n"
             "         [--input NAME=AxBx...] [--seed N] [--timeout SECONDS]\n"
             "         [--no-fork] [-v]\n"
             "Loads PLUGIN.so as warmd does and checks every capability it "
             "declares.\n"
             "Prints one PASS|FAIL|SKIP line per check; exit 0 all passed, 1 a "
             "check failed,\n2 not loadable as a plugin or bad usage.\n");
}

static int parse_dims(const char *s, int32_t *ndim, int64_t *shape) {
  int32_t n = 0;
  while (*s) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || v < 0 || n == WARM_MAX_DIMS) return -1;
    shape[n++] = v;
    s = end;
    if (*s == 'x')
      s++;
    else if (*s)
      return -1;
  }
  *ndim = n;
  return n > 0 ? 0 : -1;
}

static int parse_shape(const char *s, warm_job_shape *js) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
       t = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(t, '=');
    if (!eq) return -1;
    *eq = 0;
    unsigned long v = strtoul(eq + 1, NULL, 10);
    if (!strcmp(t, "frames"))
      js->frames = (uint32_t)v;
    else if (!strcmp(t, "height"))
      js->height = (uint32_t)v;
    else if (!strcmp(t, "width"))
      js->width = (uint32_t)v;
    else if (!strcmp(t, "batch"))
      js->batch = (uint32_t)v;
    else if (!strcmp(t, "max_tokens"))
      js->max_tokens = (uint32_t)v;
    else
      return -1;
  }
  return 0;
}

int chk_parse_args(int argc, char **argv, chk_opts *o) {
  memset(o, 0, sizeof o[0]);
  o->prompt = "warm-plugin-check: a red fox jumps over the lazy dog";
  o->shape.max_tokens = 32;
  o->seed = 1234;
  o->timeout_s = 120;
  int have_device = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      exit(0);
    } else if (!strcmp(a, "--version")) {
      printf("warm-plugin-check %s (ABI %d.%d)\n", warm_sdk_version(),
             WARM_ABI_MAJOR, WARM_ABI_MINOR);
      exit(0);
    } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
      o->verbose = 1;
      continue;
    } else if (!strcmp(a, "--no-fork")) {
      o->no_fork = 1;
      continue;
    } else if (a[0] == '-' && !v) {
      fprintf(stderr, "warm-plugin-check: %s needs a value (or is unknown)\n",
              a);
      return 2;
    }
    if (!strcmp(a, "--weights")) {
      o->weights = v;
    } else if (!strcmp(a, "--timeout")) {
      char *end;
      double t = strtod(v, &end);
      if (end == v || *end || !(t > 0 && t <= 86400)) {
        fprintf(stderr,
                "warm-plugin-check: --timeout '%s': seconds, 0 < t <= 86400\n",
                v);
        return 2;
      }
      o->timeout_s = t;
    } else if (!strcmp(a, "--config")) {
      char *eq = strchr(argv[i + 1], '=');
      if (!eq || eq == v || o->n_keys == CHK_MAX_KEYS) {
        fprintf(stderr,
                "warm-plugin-check: --config wants KEY=VALUE, got "
                "'%s'\n",
                v);
        return 2;
      }
      *eq = 0;
      o->keys[o->n_keys++] = (warm_kv){argv[i + 1], eq + 1};
    } else if (!strcmp(a, "--device")) {
      if (warm_device_parse(v, &o->device)) {
        fprintf(stderr, "warm-plugin-check: bad device '%s' (cpu or cuda:N)\n",
                v);
        return 2;
      }
      have_device = 1;
    } else if (!strcmp(a, "--prompt")) {
      o->prompt = v;
    } else if (!strcmp(a, "--max-tokens")) {
      o->shape.max_tokens = (uint32_t)strtoul(v, NULL, 10);
      if (!o->shape.max_tokens) {
        fprintf(stderr, "warm-plugin-check: bad --max-tokens '%s'\n", v);
        return 2;
      }
    } else if (!strcmp(a, "--shape")) {
      if (parse_shape(v, &o->shape)) {
        fprintf(stderr, "warm-plugin-check: bad --shape '%s'\n", v);
        return 2;
      }
    } else if (!strcmp(a, "--input")) {
      const char *eq = strchr(v, '=');
      uint32_t k = o->n_inputs;
      if (!eq || eq == v || (size_t)(eq - v) >= sizeof o->input_names[0] ||
          k == CHK_MAX_INPUTS ||
          parse_dims(eq + 1, &o->input_ndim[k], o->input_shape[k])) {
        fprintf(stderr,
                "warm-plugin-check: --input wants NAME=AxBx..., got "
                "'%s'\n",
                v);
        return 2;
      }
      memcpy(o->input_names[k], v, (size_t)(eq - v));
      o->input_names[k][eq - v] = 0;
      o->n_inputs++;
    } else if (!strcmp(a, "--seed")) {
      o->seed = (unsigned)strtoul(v, NULL, 10);
    } else if (a[0] == '-') {
      fprintf(stderr, "warm-plugin-check: unknown option %s\n", a);
      usage(stderr);
      return 2;
    } else {
      if (o->plugin_path) {
        fprintf(stderr, "warm-plugin-check: one plugin at a time\n");
        return 2;
      }
      o->plugin_path = a;
      continue;
    }
    i++; /* consumed the value */
  }
  if (!o->plugin_path) {
    usage(stderr);
    return 2;
  }
  if (!have_device) o->device.type = WARM_DEVICE_CPU;
  return 0;
}
