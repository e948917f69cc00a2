/*
 * test_registry — plugin path policy (NAME -> plugin_dir/NAME.so; a name is
 * never a path; a symbolic link placed in plugin_dir is followed) and
 * opening through the SDK loader:
 * the fixture plugins with a wrong major, a newer minor, no entry function
 * and a bad descriptor are refused with the file and both versions named;
 * a .so used twice is opened once and closed after its last user.
 */
#include <limits.h>

#include "../integration/wh_testutil.h"
#include "registry.h"

#define FIX WARM_BUILD_DIR "/tests/fixtures"

static int have_fixtures(void) {
  static const char *const need[] = {"good", "abi_major2", "abi_minor_newer",
                                     "no_entry", "bad_desc"};
  for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s.so", FIX, need[i]);
    if (access(p, R_OK) != 0) {
      fprintf(stderr,
              "FAIL: fixture %s missing (the SDK's tests/fixtures build makes "
              "it: cmake --build <build> --target warm_fixtures)\n",
              p);
      return 0;
    }
  }
  return 1;
}

static void test_name_resolves_to_plugin_dir_name_so(void) {
  char out[PATH_MAX], want[PATH_MAX];
  warm_error e = {0};
  CHECK(realpath(FIX "/good.so", want) != NULL, "realpath");
  CHECK(wh_registry_resolve(FIX, "good", out, &e) == 0 && !strcmp(out, want),
        "%s", e.msg);
  CHECK(wh_registry_resolve(FIX, "good.so", out, &e) == 0 && !strcmp(out, want),
        "explicit .so: %s", e.msg);
  CHECK(wh_registry_resolve(FIX, want, out, &e) == WARM_EINVAL,
        "a path, even to a file inside: %s", e.msg);
  CHECK(wh_registry_resolve(FIX, "missing_plugin", out, &e) == WARM_EIO &&
            strstr(e.msg, "missing_plugin"),
        "%s", e.msg);
  CHECK(wh_registry_resolve(FIX, "", out, &e) == WARM_EINVAL, "empty");
  CHECK(wh_registry_resolve("/nonexistent/dir", "good", out, &e) == WARM_EIO &&
            strstr(e.msg, "/nonexistent/dir"),
        "%s", e.msg);
}

static void test_names_are_files_in_plugin_dir_and_links_are_followed(void) {
  char dir[512], sub[600], out[PATH_MAX], cmd[2048];
  warm_error e = {0};
  wt_tempdir(dir, sizeof dir, "reg");
  snprintf(sub, sizeof sub, "%s/plugins", dir);
  mkdir(sub, 0755);
  /* A real plugin next to plugin_dir: no path in a name reaches it. */
  snprintf(cmd, sizeof cmd, "cp %s/good.so %s/outside.so", FIX, dir);
  CHECK(system(cmd) == 0, "cp");
  CHECK(wh_registry_resolve(sub, "../outside", out, &e) == WARM_EINVAL &&
            strstr(e.msg, "never a path"),
        "dot-dot: %s", e.msg);
  char abs_out[700];
  snprintf(abs_out, sizeof abs_out, "%s/outside.so", dir);
  CHECK(wh_registry_resolve(sub, abs_out, out, &e) == WARM_EINVAL &&
            strstr(e.msg, "never a path"),
        "absolute: %s", e.msg);
  CHECK(wh_registry_resolve(sub, "sub/x", out, &e) == WARM_EINVAL,
        "a sub-folder: %s", e.msg);
  CHECK(wh_registry_resolve(sub, "..", out, &e) == WARM_EINVAL, "'..'");
  /* A link the operator placed in plugin_dir is followed, wherever it
   * points (a plugin installed elsewhere, linked in). */
  char link[700];
  snprintf(link, sizeof link, "%s/linked.so", sub);
  CHECK(symlink(abs_out, link) == 0, "symlink");
  CHECK(wh_registry_resolve(sub, "linked", out, &e) == 0,
        "symlink out followed: %s", e.msg);
  CHECK(strstr(out, "outside.so") != NULL, "resolves to the target: %s", out);
  wh_registry *r = NULL;
  wh_plugin_ref *p = NULL;
  CHECK(wh_registry_create(&r) == 0 &&
            wh_registry_open(r, sub, "linked", &p, &e) == 0 && p,
        "opens through the link: %s", e.msg);
  if (p) wh_registry_release(r, p);
  wh_registry_destroy(r);
  /* A link inside pointing inside, as before. */
  char inside[700];
  snprintf(cmd, sizeof cmd, "cp %s/good.so %s/real.so", FIX, sub);
  CHECK(system(cmd) == 0, "cp");
  snprintf(inside, sizeof inside, "%s/alias.so", sub);
  CHECK(symlink("real.so", inside) == 0, "symlink in");
  CHECK(wh_registry_resolve(sub, "alias", out, &e) == 0 &&
            strstr(out, "/real.so"),
        "symlink inside: %s", e.msg);
  wt_rmtree(dir);
}

static void test_abi_fixtures_are_refused_with_both_versions(void) {
  wh_registry *r = NULL;
  CHECK(wh_registry_create(&r) == 0, "create");
  struct {
    const char *name, *want1, *want2;
  } cases[] = {
      {"abi_major2", "ABI 2.0", "speaks 1."},
      {"abi_minor_newer", "ABI 1.", "newer minor"},
      {"no_entry", "no_entry.so", "warm_plugin_entry"},
      {"bad_desc", "bad_desc.so", "create"},
      {"not_elf", "not_elf.so", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    wh_plugin_ref *p = NULL;
    warm_error e = {0};
    int rc = wh_registry_open(r, FIX, cases[i].name, &p, &e);
    CHECK(rc != 0 && p == NULL, "%s opened", cases[i].name);
    char file[64];
    snprintf(file, sizeof file, "%s.so", cases[i].name);
    CHECK(strstr(e.msg, file) && strstr(e.msg, cases[i].want1) &&
              strstr(e.msg, cases[i].want2),
          "%s: '%s'", cases[i].name, e.msg);
  }
  CHECK(wh_registry_open_count(r) == 0, "nothing stays open after refusals");
  wh_registry_destroy(r);
}

static void test_one_open_per_file_closed_after_last_user(void) {
  wh_registry *r = NULL;
  CHECK(wh_registry_create(&r) == 0, "create");
  wh_plugin_ref *a = NULL, *b = NULL;
  warm_error e = {0};
  CHECK(wh_registry_open(r, FIX, "good", &a, &e) == 0, "%s", e.msg);
  CHECK(wh_registry_open(r, FIX, "good.so", &b, &e) == 0, "%s", e.msg);
  CHECK(a && a == b, "same handle for the same file");
  CHECK(wh_registry_open_count(r) == 1, "one open");
  CHECK(a && !strcmp(wh_plugin_short(a), "good") &&
            !strcmp(wh_plugin_desc(a)->name, "fx_good"),
        "names");
  wh_registry_release(r, a);
  CHECK(wh_registry_open_count(r) == 1, "still used by b");
  wh_registry_release(r, b);
  CHECK(wh_registry_open_count(r) == 0, "closed after the last user");
  wh_registry_destroy(r);
}

int main(void) {
  if (!have_fixtures()) return 1;
  RUN(test_name_resolves_to_plugin_dir_name_so);
  RUN(test_names_are_files_in_plugin_dir_and_links_are_followed);
  RUN(test_abi_fixtures_are_refused_with_both_versions);
  RUN(test_one_open_per_file_closed_after_last_user);
  return wt_failures ? 1 : 0;
}
