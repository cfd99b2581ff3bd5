"""The composite indicator engine (JRC/OECD Handbook, COINr): framework and method files in,
a coin with every intermediate data set out. See build.build and build.build_frame."""
