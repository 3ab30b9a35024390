"""The small pieces everything else uses: the row contract (`rows`, `rowlang`), text measures (`text`), language
codes, names and scripts (`languages`), user-facing errors, seeded hashes, markdown tables, progress output, the
retry loop and secrets from the environment (`credentials`). Nothing here imports from the rest of curate."""
