/* warm-mkmodel: writes a complete checkpoint folder with deterministic
 * random weights for one of the reference architectures. Exit 0 on
 * success, 1 on failure (the reason on stderr), 2 on a usage error. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mkmodel.h"

extern const mk_arch mk_arch_gemma3;
#ifdef MK_HAVE_ARCH_LTXV
extern const mk_arch mk_arch_ltxv;
#endif
#ifdef MK_HAVE_ARCH_LTXV_VAE
extern const mk_arch mk_arch_ltxv_vae;
#endif
#ifdef MK_HAVE_ARCH_LTX2
extern const mk_arch mk_arch_ltx2;
#endif
#ifdef MK_HAVE_ARCH_LTX2_UPSAMPLER
extern const mk_arch mk_arch_ltx2_upsampler;
#endif
#ifdef MK_HAVE_ARCH_LTX2_LORA
extern const mk_arch mk_arch_ltx2_lora;
#endif

/* The arch table: one line per arch (see mkmodel.h). */
static const mk_arch *const mk_archs[] = {
    &mk_arch_gemma3,
#ifdef MK_HAVE_ARCH_LTXV
    &mk_arch_ltxv,
#endif
#ifdef MK_HAVE_ARCH_LTXV_VAE
    &mk_arch_ltxv_vae,
#endif
#ifdef MK_HAVE_ARCH_LTX2
    &mk_arch_ltx2,
#endif
#ifdef MK_HAVE_ARCH_LTX2_UPSAMPLER
    &mk_arch_ltx2_upsampler,
#endif
#ifdef MK_HAVE_ARCH_LTX2_LORA
    &mk_arch_ltx2_lora,
#endif
};
#define MK_N_ARCHS (sizeof mk_archs / sizeof mk_archs[0])

static void usage(FILE *f) {
  fprintf(f,
          "usage: warm-mkmodel --arch ARCH --seed N --out DIR [--preset "
          "P]\n"
          "                    [--dtype f32|bf16] [--set key=value ...] "
          "[--quiet]\n"
          "                    [--max-shard-bytes SIZE] [--sparse: gemma3]\n"
          "       warm-mkmodel --arch ltx2|ltx2-upsampler --variant 2.0|2.3 "
          "[--preset P]\n"
          "                    [--sparse] [--seed N] --out FILE.safetensors\n"
          "       warm-mkmodel --arch ltx2-lora --variant 2.0|2.3 [--preset "
          "P] --rank R\n"
          "                    [--blocks 0,3-5] --seed N --out "
          "FILE.safetensors\n"
          "arches:\n");
  for (size_t i = 0; i < MK_N_ARCHS; i++)
    fprintf(f, "  %-15s presets %s\n", mk_archs[i]->name,
            mk_archs[i]->presets);
  fprintf(f, "--set sets any config.json key (dotted for nested, JSON "
             "values);\n"
             "gemma3 also takes --set prefix=multimodal.\n");
}

/* mkdir -p. */
static int mkdirs(const char *path, warm_error *err) {
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
      return warm_error_set(err, WARM_EIO, "%s: %s", buf, strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, 0755) != 0 && errno != EEXIST)
    return warm_error_set(err, WARM_EIO, "%s: %s", buf, strerror(errno));
  return 0;
}

int main(int argc, char **argv) {
  const char *arch = NULL, *seed_s = NULL, *dtype_s = "f32";
  mk_ctx c = {.preset = "tiny"};
  mk_set *sets = calloc((size_t)argc, sizeof *sets);
  if (!sets) return 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      free(sets);
      return 0;
    } else if (strcmp(a, "--quiet") == 0) {
      c.quiet = 1;
      continue;
    } else if (strcmp(a, "--sparse") == 0) {
      c.sparse = 1;
      continue;
    }
    if (!v) {
      fprintf(stderr, "warm-mkmodel: %s needs a value\n", a);
      free(sets);
      return 2;
    }
    i++;
    if (strcmp(a, "--arch") == 0) {
      arch = v;
    } else if (strcmp(a, "--preset") == 0) {
      c.preset = v;
    } else if (strcmp(a, "--seed") == 0) {
      seed_s = v;
    } else if (strcmp(a, "--out") == 0) {
      c.out_dir = v;
    } else if (strcmp(a, "--max-shard-bytes") == 0) {
      if (warm_parse_size(v, &c.max_shard_bytes) || !c.max_shard_bytes) {
        fprintf(stderr, "warm-mkmodel: --max-shard-bytes %s: a size\n", v);
        free(sets);
        return 2;
      }
    } else if (strcmp(a, "--dtype") == 0) {
      dtype_s = v;
    } else if (strcmp(a, "--variant") == 0) {
      c.variant = v;
    } else if (strcmp(a, "--blocks") == 0) {
      c.blocks = v;
    } else if (strcmp(a, "--rank") == 0) {
      char *e = NULL;
      errno = 0;
      long long r = strtoll(v, &e, 10);
      if (errno || !e || *e || r <= 0 || r > (1 << 20)) {
        fprintf(stderr, "warm-mkmodel: --rank %s: a positive integer\n", v);
        free(sets);
        return 2;
      }
      c.rank = r;
    } else if (strcmp(a, "--set") == 0) {
      const char *eq = strchr(v, '=');
      if (!eq || eq == v) {
        fprintf(stderr, "warm-mkmodel: --set %s: expected key=value\n", v);
        free(sets);
        return 2;
      }
      char *key = argv[i]; /* split in place: argv strings are writable */
      key[eq - v] = '\0';
      sets[c.n_sets].key = key;
      sets[c.n_sets].value = eq + 1;
      c.n_sets++;
    } else {
      fprintf(stderr, "warm-mkmodel: unknown option '%s'\n", a);
      usage(stderr);
      free(sets);
      return 2;
    }
  }
  c.sets = sets;
  const mk_arch *a = NULL;
  for (size_t i = 0; arch && i < MK_N_ARCHS; i++)
    if (strcmp(mk_archs[i]->name, arch) == 0) a = mk_archs[i];
  /* The file-writing (LTX-2) arches default to seed 0. */
  if (!seed_s && a && a->out_file) seed_s = "0";
  char *end = NULL;
  if (seed_s) {
    errno = 0;
    c.seed = strtoull(seed_s, &end, 0);
  }
  if (!arch || !seed_s || !c.out_dir || !end || *end || errno) {
    fprintf(stderr, "warm-mkmodel: --arch, --seed N and --out DIR are "
                    "required\n");
    usage(stderr);
    free(sets);
    return 2;
  }
  c.dtype = warm_dtype_parse(dtype_s);
  if (c.dtype != WARM_F32 && c.dtype != WARM_BF16) {
    fprintf(stderr, "warm-mkmodel: --dtype %s: f32 or bf16\n", dtype_s);
    free(sets);
    return 2;
  }
  if (!a) {
    fprintf(stderr, "warm-mkmodel: unknown arch '%s'\n", arch);
    usage(stderr);
    free(sets);
    return 2;
  }
  /* Options of other arches are refused, not ignored. */
  const char *foreign = NULL;
  /* --sparse applies to the single-file arches and to gemma3's folder
   * (the full Gemma-3-12B of an LTX-2 memory plan). */
  if (!a->out_file && c.variant) foreign = "--variant";
  if (!a->out_file && c.sparse && strcmp(a->name, "gemma3") != 0)
    foreign = "--sparse";
  if (strcmp(a->name, "ltx2-lora") != 0 && (c.rank || c.blocks))
    foreign = c.rank ? "--rank" : "--blocks";
  if (foreign) {
    fprintf(stderr, "warm-mkmodel: %s does not apply to --arch %s\n", foreign,
            a->name);
    free(sets);
    return 2;
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) n = 0;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash)
    *slash = '\0';
  else
    snprintf(exe, sizeof exe, ".");
  c.exe_dir = exe;
  warm_error err = {0};
  int rc = 0;
  if (!a->out_file) {
    rc = mkdirs(c.out_dir, &err);
  } else {
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", c.out_dir);
    char *ps = strrchr(parent, '/');
    if (ps && ps != parent) {
      *ps = '\0';
      rc = mkdirs(parent, &err);
    }
  }
  if (!rc) rc = a->make(&c, &err);
  free(sets);
  if (rc) {
    fprintf(stderr, "warm-mkmodel: %s: %s\n", arch, err.msg);
    return 1;
  }
  if (!c.quiet) printf("wrote %s (%s, preset %s)\n", c.out_dir, arch, c.preset);
  return 0;
}
