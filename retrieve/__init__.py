"""Query -> ranked hits: channels, fusion (RRF), filters, hydration."""
