"""Reports rendered from a results document (results.json) alone."""
