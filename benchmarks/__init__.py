"""GAN Studio's benchmark suite: `python -m benchmarks [--quick]` prints a table of ratios."""
