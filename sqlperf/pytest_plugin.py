"""sqlperf's pytest plugin (being written; this placeholder keeps pytest loading)."""
