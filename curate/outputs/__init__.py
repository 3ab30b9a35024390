"""The output folder (OUT) and what is in it: the folder's own rules (`outdir`: marker, lock, cleaning), the work
folder of cached stages (`workdir`), the manifest, the figures counted from the files (`summary`) and the dataset card
written from them; and the commands that read a finished run back (`inspect`, `report`, `trace`)."""
