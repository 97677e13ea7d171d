"""The analyst's tools: the investigation pages of accounts (case.py gathers what a page shows,
geo.py the offline map data, page.py writes the pages and their index)."""
