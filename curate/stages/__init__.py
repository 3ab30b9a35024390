"""Curation steps, one per module; `curate.stages.registry` imports them all (and so registers them) when first asked."""
