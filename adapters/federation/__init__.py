"""Federation's edges: the link to each peer over the national axis's protocol."""
