"""Bytes on disk and over the network: atomic files, result records, housekeeping and locks, image files,
weights and downloads, caches. Nothing genbench writes is ever seen half-written."""
