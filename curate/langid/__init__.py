"""Language identification: several detectors (lid.176 or any fastText model, CLD2, langid.py; lingua and heliport
on request), each judging only the languages it knows, combined with the script and the recipe's expected languages
(`fuse`). The step is `curate.stages.langid`."""
