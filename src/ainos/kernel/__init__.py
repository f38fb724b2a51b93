"""System layer: what a kernel driver was planned to do, in user space."""
