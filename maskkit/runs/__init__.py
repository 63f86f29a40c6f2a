"""Run infrastructure shared by every job: atomic files, locks and run-folder claims (`files`), tables
read and written byte for byte (`tables`), model folders (`models`), stages with manifests that skip and
resume (`stages`), and multi-seed reports (`report`)."""
