/* warm_plugin_open / warm_plugin_check_desc against the fixture plugins in
 * <build>/tests/fixtures and against descriptors broken field by field. */
#include <stdlib.h>
#include <unistd.h>

#include "../sdk/check.h"
#include "warm/loader.h"
#include "warm/warm.h"

#define FIX WARM_BUILD_DIR "/tests/fixtures/"

static int open_expect_fail(const char *path, int code, warm_error *e) {
  warm_plugin *p = (warm_plugin *)0x1;
  int rc = warm_plugin_open(path, &p, e);
  if (rc != code) {
    fprintf(stderr, "open %s: rc %d, want %d (%s)\n", path, rc, code, e->msg);
    check_failures++;
  }
  CHECK(p == NULL);
  CHECK_HAS(e->msg, path); /* every refusal names the file */
  return rc;
}

static void test_loader_opens_good_plugin_and_exposes_descriptor(void) {
  warm_plugin *p = NULL;
  warm_error e = {0};
  CHECK(warm_plugin_open(FIX "good.so", &p, &e) == 0);
  if (!p) return;
  const warm_plugin_desc *d = warm_plugin_descriptor(p);
  CHECK(strcmp(d->name, "fx_good") == 0);
  CHECK(d->kind == WARM_KIND_TEXT_ENCODER);
  CHECK(strcmp(warm_plugin_path(p), FIX "good.so") == 0);
  CHECK(WARM_DESC_OPT(d, validate) == NULL);
  warm_plugin_close(p);
  warm_plugin_close(NULL);
}

static void test_loader_refuses_other_major_naming_both_versions(void) {
  warm_error e = {0};
  open_expect_fail(FIX "abi_major2.so", WARM_EABI, &e);
  CHECK_HAS(e.msg, "built for ABI 2.0");
  char host[64];
  snprintf(host, sizeof host, "this host speaks %d.%d", WARM_ABI_MAJOR,
           WARM_ABI_MINOR);
  CHECK_HAS(e.msg, host);
}

static void test_loader_refuses_newer_minor(void) {
  warm_error e = {0};
  open_expect_fail(FIX "abi_minor_newer.so", WARM_EABI, &e);
  char want[64];
  snprintf(want, sizeof want, "built for ABI %d.%d", WARM_ABI_MAJOR,
           WARM_ABI_MINOR + 1);
  CHECK_HAS(e.msg, want);
}

static void test_loader_refuses_missing_entry_and_bad_descriptor(void) {
  warm_error e = {0};
  open_expect_fail(FIX "no_entry.so", WARM_EABI, &e);
  CHECK_HAS(e.msg, WARM_PLUGIN_ENTRY_NAME);
  open_expect_fail(FIX "bad_desc.so", WARM_EABI, &e);
  CHECK_HAS(e.msg, "no create entry point");
}

static void test_loader_refuses_files_that_are_not_shared_objects(void) {
  warm_error e = {0};
  open_expect_fail(FIX "not_elf.so", WARM_EIO, &e);
  CHECK_HAS(e.msg, "cannot load as a shared object");
  open_expect_fail(FIX "does_not_exist.so", WARM_EIO, &e);
  warm_plugin *p;
  CHECK(warm_plugin_open(NULL, &p, &e) == WARM_EINVAL);
  CHECK(warm_plugin_open("", &p, &e) == WARM_EINVAL);
}

/* A bare file name is looked up in the current directory, never on the
 * system library path: "libc.so.6" must not load. */
static void test_loader_never_searches_library_path(void) {
  warm_error e = {0};
  char cwd[4096];
  CHECK(getcwd(cwd, sizeof cwd) != NULL);
  CHECK(chdir(FIX) == 0);
  warm_plugin *p = NULL;
  CHECK(warm_plugin_open("good.so", &p, &e) == 0);
  warm_plugin_close(p);
  p = NULL;
  CHECK(warm_plugin_open("libc.so.6", &p, &e) == WARM_EIO);
  CHECK(p == NULL);
  CHECK(chdir(cwd) == 0);
}

static void test_loader_accepts_plugin_built_against_abi_1_0(void) {
  warm_plugin *p = NULL;
  warm_error e = {0};
  int rc = warm_plugin_open(FIX "abi10_plugin.so", &p, &e);
  CHECK(rc == 0);
  if (rc) fprintf(stderr, "%s\n", e.msg);
  if (!p) return;
  const warm_plugin_desc *d = warm_plugin_descriptor(p);
  CHECK(d->abi_major == 1 && d->abi_minor == 0);
  CHECK(d->abi_minor <= WARM_ABI_MINOR);
  warm_plugin_close(p);
}

/* A 1.1 plugin under this host: info() fills only the fields 1.1 knew
 * (the appended ones keep the host's sentinel), and run() works with the
 * host's larger warm_run_args (ABI 1.2 fields set and ignored). */
static void test_loader_runs_plugin_built_against_abi_1_1(void) {
  warm_plugin *p = NULL;
  warm_error e = {0};
  int rc = warm_plugin_open(FIX "abi11_plugin.so", &p, &e);
  CHECK(rc == 0);
  if (rc) fprintf(stderr, "%s\n", e.msg);
  if (!p) return;
  const warm_plugin_desc *d = warm_plugin_descriptor(p);
  CHECK(d->abi_major == 1 && d->abi_minor == 1);
  int (*info)(warm_instance *, warm_model_info *, warm_error *) =
      WARM_DESC_OPT(d, info);
  CHECK(info != NULL);
  warm_services svc;
  memset(&svc, 0, sizeof svc);
  svc.struct_size = sizeof svc;
  svc.abi_minor = WARM_ABI_MINOR;
  warm_component_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.struct_size = sizeof cfg;
  cfg.name = "abi11";
  warm_instance *inst = NULL;
  CHECK(d->create(&svc, &cfg, &inst, &e) == 0);
  if (!inst || !info) {
    warm_plugin_close(p);
    return;
  }
  warm_model_info mi;
  memset(&mi, 0, sizeof mi);
  mi.struct_size = sizeof mi;
  mi.run_inputs = mi.audio_latent_channels = mi.audio_embed_dim = mi.layers =
      0xABABABAB;
  CHECK(info(inst, &mi, &e) == 0);
  CHECK(mi.embed_dim == 24 && mi.latent_channels == 8);
  CHECK(mi.run_inputs == 0xABABABAB && mi.layers == 0xABABABAB &&
        mi.audio_latent_channels == 0xABABABAB &&
        mi.audio_embed_dim == 0xABABABAB);
  warm_place_req req = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  CHECK(d->place(inst, &req, &e) == 0);
  int64_t shape[5] = {1, 8, 1, 2, 2};
  warm_tensor lat;
  CHECK(warm_tensor_alloc(&lat, "latents", WARM_F32, 5, shape) == 0);
  for (int i = 0; i < 32; i++) ((float *)lat.data)[i] = (float)i;
  warm_perturbation pt = {0, WARM_PERTURB_SKIP_VIDEO_SELF_ATTN, NULL, 0};
  warm_run_args a;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.inputs = &lat;
  a.n_inputs = 1;
  a.perturbations = &pt;
  a.n_perturbations = 1;
  a.adapter = "unknown-to-1.1";
  CHECK(d->run(inst, &a, &e) == 0);
  CHECK(a.n_outputs == 1 && a.outputs[0].ndim == 5 &&
        ((float *)a.outputs[0].data)[31] == 15.5f);
  if (a.n_outputs == 1) warm_tensor_free(&a.outputs[0]);
  warm_tensor_free(&lat);
  d->destroy(inst);
  warm_plugin_close(p);
}

static int dummy_create(const warm_services *s, const warm_component_config *c,
                        warm_instance **o, warm_error *e) {
  return 0;
}
static int dummy_estimate(warm_instance *i, const warm_place_req *r,
                          const warm_job_shape *s, warm_estimate *o,
                          warm_error *e) {
  return 0;
}
static int dummy_place(warm_instance *i, const warm_place_req *r,
                       warm_error *e) {
  return 0;
}
static int dummy_run(warm_instance *i, warm_run_args *a, warm_error *e) {
  return 0;
}
static void dummy_destroy(warm_instance *i) {}

static warm_plugin_desc good_desc(void) {
  warm_plugin_desc d = {
      .abi_major = WARM_ABI_MAJOR,
      .abi_minor = WARM_ABI_MINOR,
      .struct_size = sizeof(warm_plugin_desc),
      .name = "ok_plugin",
      .version = "1.0",
      .kind = WARM_KIND_VAE,
      .devices = WARM_DEVCAP_CPU | WARM_DEVCAP_CUDA,
      .placements = WARM_PLACE_RESIDENT | WARM_PLACE_STREAM | WARM_PLACE_AUTO,
      .dtypes = WARM_DTYPECAP_F32 | WARM_DTYPECAP_BF16,
      .flags = WARM_FLAG_LIVE_PLACEMENT,
      .create = dummy_create,
      .estimate = dummy_estimate,
      .place = dummy_place,
      .run = dummy_run,
      .destroy = dummy_destroy,
  };
  return d;
}

static void expect_bad(warm_plugin_desc d, const char *needle) {
  warm_error e = {0};
  int rc = warm_plugin_check_desc(&d, "x.so", &e);
  if (rc != WARM_EABI) {
    fprintf(stderr, "descriptor accepted, expected refusal with '%s'\n",
            needle);
    check_failures++;
    return;
  }
  CHECK_HAS(e.msg, "x.so: ");
  CHECK_HAS(e.msg, needle);
}

static void test_check_desc_refuses_each_broken_field(void) {
  warm_plugin_desc d = good_desc();
  warm_error e;
  CHECK(warm_plugin_check_desc(&d, "x.so", &e) == 0);
  CHECK(warm_plugin_check_desc(NULL, "x.so", &e) == WARM_EABI);

  d = good_desc(), d.abi_major = 0, expect_bad(d, "ABI 0.");
  d = good_desc(), d.struct_size = 16, expect_bad(d, "struct_size 16");
  /* only as far as destroy is required: validate/fingerprint are optional */
  d = good_desc();
  d.struct_size = (uint32_t)offsetof(warm_plugin_desc, validate);
  CHECK(warm_plugin_check_desc(&d, "x.so", &e) == 0);
  CHECK(WARM_DESC_OPT(&d, validate) == NULL);
  d = good_desc(), d.name = NULL, expect_bad(d, "name");
  d = good_desc(), d.name = "Bad-Name", expect_bad(d, "[a-z0-9_]");
  d = good_desc(), d.version = "", expect_bad(d, "version");
  d = good_desc(), d.kind = (warm_kind)7, expect_bad(d, "unknown kind 7");
  /* The ABI 1.2 kinds load at minor 2 and are refused below it. */
  d = good_desc(), d.kind = WARM_KIND_UPSAMPLER;
  CHECK(warm_plugin_check_desc(&d, "x.so", &e) == 0);
  d = good_desc(), d.kind = WARM_KIND_AUDIO_DECODER;
  CHECK(warm_plugin_check_desc(&d, "x.so", &e) == 0);
  d = good_desc(), d.kind = WARM_KIND_UPSAMPLER, d.abi_minor = 1,
  expect_bad(d, "kind upsampler, which ABI 1.1");
  d = good_desc(), d.kind = WARM_KIND_AUDIO_DECODER, d.abi_minor = 0,
  expect_bad(d, "kind audio_decoder, which ABI 1.0");
  d = good_desc(), d.devices = 0, expect_bad(d, "devices");
  d = good_desc(), d.devices = 0x8, expect_bad(d, "devices 0x8");
  d = good_desc(), d.placements = 0, expect_bad(d, "placements");
  d = good_desc(), d.placements = WARM_PLACE_AUTO | WARM_PLACE_STREAM,
  expect_bad(d, "auto placement without both");
  d = good_desc(), d.dtypes = 0x10, expect_bad(d, "dtypes 0x10");
  d = good_desc(), d.flags = 0x2, expect_bad(d, "unknown flags 0x2");
  d = good_desc(), d.estimate = NULL, expect_bad(d, "no estimate");
  d = good_desc(), d.place = NULL, expect_bad(d, "no place");
  d = good_desc(), d.run = NULL, expect_bad(d, "no run");
  d = good_desc(), d.destroy = NULL, expect_bad(d, "no destroy");
}

int main(void) {
  RUN(test_loader_opens_good_plugin_and_exposes_descriptor);
  RUN(test_loader_refuses_other_major_naming_both_versions);
  RUN(test_loader_refuses_newer_minor);
  RUN(test_loader_refuses_missing_entry_and_bad_descriptor);
  RUN(test_loader_refuses_files_that_are_not_shared_objects);
  RUN(test_loader_never_searches_library_path);
  RUN(test_loader_accepts_plugin_built_against_abi_1_0);
  RUN(test_loader_runs_plugin_built_against_abi_1_1);
  RUN(test_check_desc_refuses_each_broken_field);
  return check_result();
}
