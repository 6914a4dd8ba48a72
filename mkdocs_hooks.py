"""mkdocs hook: the line `<!-- problems table -->` of a page becomes the vocabulary's table
(`kerasboost.diagnostics.problems.markdown_table()`), so the doctor guide never drifts from the code."""

MARKER = "<!-- problems table -->"


def on_page_markdown(markdown, page, config, files):
    if MARKER not in markdown:
        return markdown
    from kerasboost.diagnostics.problems import markdown_table

    return markdown.replace(MARKER, markdown_table())
