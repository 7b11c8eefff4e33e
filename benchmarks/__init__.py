"""``make bench``: every benchmark, each beside a baseline measured in the same run."""
