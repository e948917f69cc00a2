# An empty torchaudio: ltx-core imports it only for AudioProcessor, which the
# parity scripts never use. Put tests/parity/pystub on PYTHONPATH.
