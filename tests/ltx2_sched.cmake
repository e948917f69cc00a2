# The LTX-2 sampler's arithmetic (host/ltx2_sched.c), label ltx2_sched:
# schedules, positions, layouts, conditioning, noising, guidance, Euler and
# the per-version defaults against data/ltx2/sched_golden.safetensors,
# which tests/parity/ltx2_sched.py wrote with ltx-core / ltx-pipelines 1.0.0.
warm_add_test(test_ltx2_sched SOURCES unit/test_ltx2_sched.c LIBS wh_core
              LABELS ltx2_sched host)
