"""The I/O side of each stage: what a batch consumer hands its batches to."""
