"""One module per publisher; catalog.SOURCES names the ones a refresh can run.

The package imports nothing itself, so a command that needs one source (citybench check
reads users' files) does not load every publisher's module.
"""
