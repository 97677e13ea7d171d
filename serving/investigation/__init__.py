"""The analyst's tools: the investigation pages of accounts (case.py gathers what a page shows,
geo.py the offline map data, sign_in_map.py draws the map, plots.py the clock and the SHAP
waterfall, sections.py the HTML sections, page.py writes the pages and their index)."""

RED, BLUE, GREY = "#d62728", "#1f77b4", "#999999"  # the pages' colours: alarm, normal, keys
