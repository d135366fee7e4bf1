"""Rule pages, shipped inside the wheel as the data package `evalguard.rules_pages`."""
