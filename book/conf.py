# Sphinx configuration of the book (`make book`): Sphinx + MyST-NB + sphinx-book-theme, the pure-Python stack
# that Jupyter Book v1 wraps, used directly (mmvae_lib/book.py says why). The executed notebooks are rendered
# as they are, never re-executed; mmvae_lib.book copies them and these pages into the build's source folder.
project = "mmvae_lib: a reproducible companion to MMVAE and JNF"
author = "the mmvae_lib authors"
copyright = "2026, the mmvae_lib authors"
extensions = ["myst_nb", "sphinx-mathjax-offline"]   # MathJax from _static, not a CDN
exclude_patterns = ["_build", "conf.py"]
root_doc = "index"
nb_execution_mode = "off"            # the committed outputs are the book's content
nb_output_stderr = "remove"          # progress bars and warnings: noise for a reader
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
html_theme = "sphinx_book_theme"
html_title = "mmvae_lib"
html_theme_options = {
    "show_toc_level": 2, "use_download_button": False,
    # every page says where it comes from and how to remake it
    "extra_footer": "<p>Made from the repository's <code>book/</code> pages and the executed notebooks in "
                    "<code>outputs/cpu/notebooks/</code> (sources in <code>notebooks/</code>). Rebuild with "
                    "<code>make book</code>; re-execute notebook NN with "
                    "<code>python -m mmvae_lib.paper --profile cpu --only NN</code>.</p>",
}
html_last_updated_fmt = None         # no date on the pages: the same outputs give the same site
suppress_warnings = ["mystnb.unknown_mime_type"]
html_context = {"default_mode": "light"}   # a page opened from disk has no stored mode: the theme would log an error
