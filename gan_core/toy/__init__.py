"""2D toy GANs: target distributions, tiny MLPs, a step-wise trainer and a fast view renderer."""
