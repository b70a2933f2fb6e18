"""The experiments, each a small package on the shared core: its data (real readers and offline stand-ins),
networks, judges (classifiers), the papers' published numbers and the functions its notebooks call."""
