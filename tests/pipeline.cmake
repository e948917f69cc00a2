# The pipeline's host-side pieces: sampler, embedding cache, media writers.
warm_add_test(test_sampler SOURCES unit/test_sampler.c LIBS wh_core LABELS pipeline)
warm_add_test(test_embcache SOURCES unit/test_embcache.c LIBS wh_core LABELS pipeline)
warm_add_test(test_media SOURCES unit/test_media.c LIBS wh_core PkgConfig::PNG LABELS pipeline)
