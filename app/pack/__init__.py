"""Chart packs: the benchmark's charts for slides and print (`citybench report`, and the same
pack as a download in the app).

config  the pack's TOML, read and checked whole before anything is drawn
build   the pack's charts: each a figure of app.charts / app.maps with its data and credits
page    a chart's SVG placed on its page (the declared size, whatever the chart's own)
render  every format (PNG at 2x, SVG, PDF, one offline HTML page, a PDF booklet) and the
        manifest
"""
