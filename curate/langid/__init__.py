"""Language identification: fastText (lid.176 by default, any fastText model file by name), script rules,
macrolanguage folding and a second detector (lingua) for the unsure cases. The step is `curate.stages.langid`."""
