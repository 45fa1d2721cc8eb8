"""Running compiled blkrew artifacts: in-process (host) or under qemu."""
